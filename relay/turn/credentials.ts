// TURN credentials. Ephemeral ones as in the TURN REST API draft
// (draft-uberti-behave-turn-rest-00 §2.2, coturn's `use-auth-secret`): the username is
// `${expiry unix seconds}:${tag}` and the password base64(HMAC-SHA1(secret, username)), so the
// relay that mints them and the one that checks them share only the secret. The long-term key
// is MD5(username ":" realm ":" password) (RFC 8489 §9.2.2). Nonces are stateless: a
// timestamp and the client's address signed with a server key, valid
// TURN_NONCE_LIFETIME_SECONDS (RFC 8489 §9.2, 438 Stale Nonce after).

import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import {
  TURN_CREDENTIAL_CLOCK_SLACK_SECONDS,
  TURN_CREDENTIAL_MAX_TTL_SECONDS,
  TURN_NONCE_LIFETIME_SECONDS,
} from '../limits.ts'

export interface TurnCredential {
  username: string
  credential: string
  /** Unix seconds. */
  expires: number
}

export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64')
}

export function mintTurnCredential(
  secret: string,
  tag: string,
  nowSeconds: number,
  ttlSeconds: number,
): TurnCredential {
  if (!secret) throw new TypeError('TURN secret must not be empty')
  if (tag.includes(':')) throw new TypeError('TURN credential tag must not contain ":"')
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new RangeError('bad TTL')
  if (ttlSeconds > TURN_CREDENTIAL_MAX_TTL_SECONDS) throw new RangeError('TTL above an hour')
  const expires = Math.floor(nowSeconds) + ttlSeconds
  const username = tag ? `${expires}:${tag}` : `${expires}`
  return { username, credential: turnPassword(secret, username), expires }
}

export type UsernameCheck = 'ok' | 'malformed' | 'expired' | 'too-far-ahead'

/** Whether a TURN REST username is in its validity window now (its password is checked by
 * MESSAGE-INTEGRITY). */
export function checkTurnUsername(username: string, nowSeconds: number): UsernameCheck {
  const colon = username.indexOf(':')
  const head = colon < 0 ? username : username.slice(0, colon)
  if (!/^\d{1,12}$/.test(head)) return 'malformed'
  const expires = Number(head)
  if (expires <= nowSeconds) return 'expired'
  const limit = nowSeconds + TURN_CREDENTIAL_MAX_TTL_SECONDS + TURN_CREDENTIAL_CLOCK_SLACK_SECONDS
  if (expires > limit) return 'too-far-ahead'
  return 'ok'
}

/** RFC 8489 §9.2.2: MD5(username ":" OpaqueString(realm) ":" OpaqueString(password)). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest()
}

export type NonceCheck = 'ok' | 'stale' | 'invalid'

/** Stateless nonces bound to a client address: `${issued seconds, hex}${16 bytes of MAC, hex}`. */
export class NonceIssuer {
  readonly #key: Uint8Array

  constructor(key: Uint8Array) {
    if (key.length < 16) throw new RangeError('nonce key must be at least 16 bytes')
    this.#key = key
  }

  issue(clientIp: string, nowSeconds: number): string {
    const stamp = Math.floor(nowSeconds).toString(16).padStart(8, '0')
    return stamp + this.#mac(stamp, clientIp).toString('hex')
  }

  check(nonce: string, clientIp: string, nowSeconds: number): NonceCheck {
    if (!/^[0-9a-f]{40}$/.test(nonce)) return 'invalid'
    const stamp = nonce.slice(0, 8)
    const given = Buffer.from(nonce.slice(8), 'hex')
    if (!timingSafeEqual(given, this.#mac(stamp, clientIp))) return 'invalid'
    const issued = parseInt(stamp, 16)
    if (issued > nowSeconds + TURN_CREDENTIAL_CLOCK_SLACK_SECONDS) return 'invalid'
    return nowSeconds - issued > TURN_NONCE_LIFETIME_SECONDS ? 'stale' : 'ok'
  }

  #mac(stamp: string, clientIp: string): Buffer {
    return createHmac('sha256', this.#key).update(`${stamp}|${clientIp}`).digest().subarray(0, 16)
  }
}
