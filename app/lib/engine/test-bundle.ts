// For tests only: loads the very WebTorrent bundle the app ships
// (webtorrent/dist/webtorrent.min.js) in Node, after giving Node 20 the globals the bundle
// expects of a browser (Node 22+ and every current browser have them), so that a WebTorrent
// update that changes the internals the app reaches into fails in a test, not in a tab.

import * as wrtc from 'webrtc-polyfill'
import { WebSocket } from 'ws'
import type WebTorrent from 'webtorrent/dist/webtorrent.min.js'
import { fireEndOfCandidates } from './end-of-candidates.ts'
import { installPeerConnections } from './rtc-global.ts'

function browserGlobals(): void {
  const g = globalThis as Record<string, unknown>
  g.self ??= globalThis
  if (!('navigator' in g)) g.navigator = { hardwareConcurrency: 2 }
  g.WebSocket ??= WebSocket
  g.RTCPeerConnection ??= wrtc.RTCPeerConnection
  g.RTCSessionDescription ??= wrtc.RTCSessionDescription
  g.RTCIceCandidate ??= wrtc.RTCIceCandidate
  const proto = Uint8Array.prototype as unknown as Record<string, unknown>
  proto.toHex ??= function (this: Uint8Array) {
    return Buffer.from(this).toString('hex')
  }
  proto.toBase64 ??= function (this: Uint8Array) {
    return Buffer.from(this).toString('base64')
  }
  const ctor = Uint8Array as unknown as Record<string, unknown>
  ctor.fromHex ??= (s: string) => new Uint8Array(Buffer.from(s, 'hex'))
  ctor.fromBase64 ??= (s: string) => new Uint8Array(Buffer.from(s, 'base64'))
}

/** The bundle's WebTorrent class. */
export async function loadBundle(): Promise<typeof WebTorrent> {
  browserGlobals()
  // As in a browser, gathering ends with a null candidate, on which simple-peer sends an offer
  // or answer; without it (webrtc-polyfill) each one waited simple-peer's 5 s timeout.
  fireEndOfCandidates()
  // As in the page: the bundle takes Monsoon's RTCPeerConnection (rtc-global.ts).
  installPeerConnections()
  return (await import('webtorrent/dist/webtorrent.min.js')).default
}
