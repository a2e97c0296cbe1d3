// Puts Monsoon's RTCPeerConnection in the page's global, in place of the browser's, before
// anything takes it. WebTorrent's bundle (and simple-peer, which makes its WebRTC peers) takes
// the global RTCPeerConnection once, when it is evaluated, and ignores the `wrtc` option
// simple-peer's lite build used to have: the global is the only way in, as for the tracker's
// WebSocket (sealed-websocket.ts). So this module imports nothing and is imported first.
//
// A connection whose configuration carries a layer (peer-connections.ts; simple-peer copies
// the configuration with Object.assign, which keeps symbol keys) is made by that layer: its
// ICE servers, its count. Any other (a stock WebTorrent client in the same page, as the
// benchmarks run) is the browser's own, untouched.

/** The key under which a configuration names the layer that makes its connection. */
export const LAYER = Symbol.for('monsoon.peerConnections')

/** What a layer does for each connection it makes. */
export interface ConnectionMaker {
  /** The configuration the connection is made with, from the one it was given. */
  configure(given: RTCConfiguration): RTCConfiguration
  /** Hears of each connection made. */
  made(pc: RTCPeerConnection): void
}

const INSTALLED = Symbol.for('monsoon.peerConnections.installed')

/** Replaces `scope.RTCPeerConnection` (idempotent). False where there is none. */
export function installPeerConnections(scope: object = globalThis): boolean {
  const g = scope as { RTCPeerConnection?: typeof RTCPeerConnection }
  const Native = g.RTCPeerConnection
  if (!Native) return false
  if ((Native as unknown as Record<symbol, unknown>)[INSTALLED]) return true
  class MonsoonPeerConnection extends Native {
    static readonly [INSTALLED] = true
    constructor(given?: RTCConfiguration) {
      const maker = (given as Record<symbol, ConnectionMaker | undefined> | undefined)?.[LAYER]
      super(maker ? maker.configure(given!) : given)
      maker?.made(this)
    }
  }
  g.RTCPeerConnection = MonsoonPeerConnection
  return true
}

if (typeof document !== 'undefined') installPeerConnections()
