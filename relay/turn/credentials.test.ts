import { describe, expect, it } from 'vitest'
import {
  NonceIssuer,
  checkTurnUsername,
  longTermKey,
  mintTurnCredential,
  turnPassword,
} from './credentials.ts'

const NOW = 1_700_000_000

describe('TURN REST credentials', () => {
  it('mints `${expiry}:${tag}` with base64(HMAC-SHA1(secret, username)) (vector from openssl)', () => {
    // printf '%s' 1700003600:alice | openssl dgst -sha1 -hmac north-wind -binary | base64
    expect(mintTurnCredential('north-wind', 'alice', NOW, 3600)).toEqual({
      username: '1700003600:alice',
      credential: 'iRtTIZ3N38dm9S+dP+UkHfnN9Qo=',
      expires: 1_700_003_600,
    })
    expect(turnPassword('north-wind', '1700003600:alice')).toBe('iRtTIZ3N38dm9S+dP+UkHfnN9Qo=')
  })

  it('refuses a TTL over an hour, an empty secret, a tag with ":"', () => {
    expect(() => mintTurnCredential('s', 't', NOW, 3601)).toThrow(RangeError)
    expect(() => mintTurnCredential('', 't', NOW, 60)).toThrow(TypeError)
    expect(() => mintTurnCredential('s', 'a:b', NOW, 60)).toThrow(TypeError)
  })

  it('accepts a username until it expires and refuses one more than an hour (+60 s) ahead', () => {
    expect(checkTurnUsername(`${NOW + 1}:x`, NOW)).toBe('ok')
    expect(checkTurnUsername(`${NOW}:x`, NOW)).toBe('expired')
    expect(checkTurnUsername(`${NOW - 100}:x`, NOW)).toBe('expired')
    expect(checkTurnUsername(`${NOW + 3660}:x`, NOW)).toBe('ok')
    expect(checkTurnUsername(`${NOW + 3661}:x`, NOW)).toBe('too-far-ahead')
    expect(checkTurnUsername(`${NOW + 60}`, NOW)).toBe('ok')
    for (const bad of ['', 'alice', ':x', '1e9:x', '-5:x', '99999999999999:x']) {
      expect(checkTurnUsername(bad, NOW)).toBe('malformed')
    }
  })

  it('long-term key is MD5(username:realm:password) (RFC 5769 §2.4 values)', () => {
    const key = longTermKey('\u30de\u30c8\u30ea\u30c3\u30af\u30b9', 'example.org', 'TheMatrIX')
    // printf '%s' 'マトリックス:example.org:TheMatrIX' | md5sum
    expect(key.toString('hex')).toBe('e8ca7ad59d5eb0518e312911d2dab2a9')
  })
})

describe('stateless nonces', () => {
  const issuer = new NonceIssuer(Buffer.alloc(32, 9))

  it('is valid for ten minutes from the address it was given to', () => {
    const nonce = issuer.issue('198.51.100.7', NOW)
    expect(nonce).toMatch(/^[0-9a-f]{40}$/)
    expect(issuer.check(nonce, '198.51.100.7', NOW)).toBe('ok')
    expect(issuer.check(nonce, '198.51.100.7', NOW + 600)).toBe('ok')
    expect(issuer.check(nonce, '198.51.100.7', NOW + 601)).toBe('stale')
    expect(issuer.check(nonce, '198.51.100.8', NOW)).toBe('invalid')
  })

  it('refuses forged, tampered, or other servers\u2019 nonces', () => {
    const nonce = issuer.issue('198.51.100.7', NOW)
    const later = (NOW + 5).toString(16) + nonce.slice(8)
    expect(issuer.check(later, '198.51.100.7', NOW + 5)).toBe('invalid')
    expect(new NonceIssuer(Buffer.alloc(32, 1)).check(nonce, '198.51.100.7', NOW)).toBe('invalid')
    for (const bad of ['', 'x'.repeat(40), nonce.toUpperCase(), nonce + '00']) {
      expect(issuer.check(bad, '198.51.100.7', NOW)).toBe('invalid')
    }
    const future = issuer.issue('198.51.100.7', NOW + 3600)
    expect(issuer.check(future, '198.51.100.7', NOW)).toBe('invalid')
  })
})
