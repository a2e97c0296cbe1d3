// The one place the app makes its WebTorrent client (the Transfers page, torrents.svelte.ts;
// the transfer benchmarks, bench/transfer and bench/swarm): the bundle the app ships, on
// Monsoon's engine (monsoon-client.ts), its pieces in the app's OPFS store.
// First: the bundle takes the global WebSocket and RTCPeerConnection when it is evaluated
// (sealed-websocket.ts, rtc-global.ts).
import '../sealed-websocket.ts'
import './rtc-global.ts'
import WebTorrent from 'webtorrent/dist/webtorrent.min.js'
import { OpfsChunkStore, opfsSupported } from '../opfs-store.ts'
import type { MeshHandlers } from './mesh-extension.ts'
import { monsoonClient, type ClientOptions, type StoreClass } from './monsoon-client.ts'
import { PeerConnections } from './peer-connections.ts'

export type { ClientOptions }

/** A WebTorrent client set up the way Monsoon runs it. Its WebRTC connections are made by
 * `peerConnections` (by default a layer of its own, with no ICE servers: loopback only); with
 * `mesh`, its wires speak the browser mesh (mesh-extension.ts). */
export function createClient(
  opts: ClientOptions = {},
  peerConnections = new PeerConnections(),
  mesh?: MeshHandlers,
): WebTorrent {
  const defaultStore = opfsSupported() ? (OpfsChunkStore as unknown as StoreClass) : undefined
  return monsoonClient(WebTorrent, opts, { peerConnections, defaultStore, mesh })
}

/** Whether this browser can make WebRTC peers at all. */
export function webrtcSupported(): boolean {
  return WebTorrent.WEBRTC_SUPPORT
}
