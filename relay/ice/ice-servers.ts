// What GET /v1/config hands a browser before it opens WebRTC connections: the ICE servers
// (W3C RTCIceServer) this relay offers, with TURN credentials minted for this answer.
//
// - STUN (RFC 8489) on UDP at the relay's STUN port: two browsers behind home (cone) NATs
//   find their public addresses and connect directly.
// - TURN (RFC 8656) over UDP on the same port, and over TCP on the relay's one HTTP port, or
//   TLS (`turns:`) when the relay serves TLS: there TCP goes as TLS only, so relayed data
//   looks like any HTTPS and a browser that may only reach the relay's port still connects.
//   Chromium ranks relayed candidates UDP > TCP > TLS, and uses TCP/TLS only when UDP fails.
// - Servers the operator named with --ice-server: `stun:` as given; `turn:`/`turns:` with
//   credentials minted from the same secret, so a coturn run with `use-auth-secret` and that
//   secret as `static-auth-secret` takes them. Chromium refuses to make an RTCPeerConnection
//   with a TURN entry that has no credential (InvalidAccessError), so none is ever sent bare.
//
// Credentials are the TURN REST scheme (relay/turn/credentials.ts): they expire; the app
// asks again before they do.

import { randomBytes } from 'node:crypto'
import { mintTurnCredential } from '../turn/credentials.ts'

/** How long minted credentials are valid: at most an hour (RFC 8656 §9.2 leaves it to the
 * server; TURN REST suggests short-lived ones). The app refreshes them before this. */
export const TURN_CREDENTIAL_TTL_SECONDS = 3600

export interface IceServerJson {
  urls: string | string[]
  username?: string
  credential?: string
}

export interface RelayIceConfig {
  iceServers: IceServerJson[]
  /** Unix seconds when the credentials lapse; absent when none were minted. */
  expires?: number
}

export interface IceServerOptions {
  /** The relay's public host as URLs spell it (an IPv6 literal in brackets). */
  host: string
  /** The relay's public TCP port (HTTP(S), and TURN over TCP/TLS). */
  tcpPort: number
  /** The UDP port of STUN and TURN. */
  udpPort: number
  stun: boolean
  turn: boolean
  /** The relay serves TLS: TURN over TCP goes as `turns:`. */
  tls: boolean
  /** --ice-server URLs. */
  extra: readonly string[]
  /** The TURN REST shared secret; without it no TURN entry is offered. */
  secret: string | undefined
}

/** The ICE servers for one answer of GET /v1/config, with credentials valid from `nowSeconds`. */
export function relayIceConfig(opts: IceServerOptions, nowSeconds: number): RelayIceConfig {
  const iceServers: IceServerJson[] = []
  const { host } = opts
  if (opts.stun) iceServers.push({ urls: `stun:${host}:${opts.udpPort}` })
  const stunExtra = opts.extra.filter((url) => /^stuns?:/.test(url))
  for (const urls of stunExtra) iceServers.push({ urls })
  const turnExtra = opts.extra.filter((url) => /^turns?:/.test(url))
  const ours = opts.turn
    ? [
        `turn:${host}:${opts.udpPort}?transport=udp`,
        opts.tls
          ? `turns:${host}:${opts.tcpPort}?transport=tcp`
          : `turn:${host}:${opts.tcpPort}?transport=tcp`,
      ]
    : []
  if (!opts.secret || (!ours.length && !turnExtra.length)) return { iceServers }
  // A fresh tag for each answer: nothing links two browsers' credentials.
  const tag = randomBytes(6).toString('hex')
  const minted = mintTurnCredential(opts.secret, tag, nowSeconds, TURN_CREDENTIAL_TTL_SECONDS)
  const auth = { username: minted.username, credential: minted.credential }
  if (ours.length) iceServers.push({ urls: ours, ...auth })
  for (const urls of turnExtra) iceServers.push({ urls, ...auth })
  return { iceServers, expires: minted.expires }
}
