// TCP before uTP for the bridge's outgoing classic connections.
//
// Why this exists: WebTorrent 3.0.21 (lib/torrent.js, addPeer/_addPeer/_drain), with uTP
// available, dials every IPv4 peer over uTP first and only falls back to TCP after the uTP
// attempts are used up: a 5 s connect timeout, then reconnects after 1, 5 and 15 s, each
// with its own timeout, about 40 s in all. A peer that speaks no uTP (aria2, many seedboxes,
// anything behind a UDP-hostile firewall) is therefore reached only after 40 s, or when it
// happens to dial in itself; a browser waiting on the bridge sees nothing meanwhile (the
// cold bridged transfer in bench/bridge sat at 0 bytes for its first 14 s). Every classic
// client that has uTP also has TCP, so the bridge dials TCP first and keeps uTP as the
// fallback, the reverse of WebTorrent's order; incoming uTP is accepted as before.
//
// How (a rule of add-peer.ts): WebTorrent picks the transport in `torrent._addPeer(addr, type, source)`, called with
// 'utp' for a new or reconnecting IPv4 peer and with 'tcp' once the uTP attempts are used up.
// The wrapper swaps the two for IPv4 address strings (WebRTC peers pass objects, and IPv6
// peers never use uTP in WebTorrent; both are left alone): the first attempts and reconnects
// go over TCP, and when they are used up the fallback goes over uTP, which WebTorrent's own
// bookkeeping then treats as a first attempt.
// bridge.test.ts's classic-to-browser test runs aria2 (no uTP) through this.

import type { AddPeerRule } from './add-peer.ts'

/** "a.b.c.d:port": the peers WebTorrent would dial over uTP. */
const IPV4_ADDR = /^\d{1,3}(\.\d{1,3}){3}:\d+$/

/** IPv4 classic peers over TCP first and uTP second, when the client dials uTP at all. */
export const tcpBeforeUtp: AddPeerRule = (torrent, peer, type) =>
  torrent.client?.utp && typeof peer === 'string' && IPV4_ADDR.test(peer) ? swapped(type) : type

/** The transport to dial when WebTorrent asks for `type`. */
export function swapped(type: string): string {
  return type === 'utp' ? 'tcp' : type === 'tcp' ? 'utp' : type
}
