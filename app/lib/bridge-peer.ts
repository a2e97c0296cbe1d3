// Telling a relay's bridge (relay/bridge/) apart from browsers in a torrent's peer list, for
// the torrent view's "found" column. The bridge is a WebTorrent client that browsers reach
// through the same relay trackers and over the same WebRTC as each other, so only what it
// says of itself sets it apart: its peer id, in the Azureus style of BEP 20 (`-`, a two-letter
// client code, four version digits, `-`, then random bytes), names the client `MB` (Monsoon
// bridge) where stock WebTorrent says `WW`. A label, not a proof: any peer may claim it, so
// nothing but what the page shows may rely on it.

import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js'

/** The start of the bridge's peer id (BEP 20's Azureus style). */
export const BRIDGE_PEER_ID_PREFIX = '-MB0001-'
/** Random bytes after the prefix: a peer id is 20 bytes (BEP 3). */
export const BRIDGE_PEER_ID_RANDOM_BYTES = 12

const PEER_ID = /^[0-9a-f]{40}$/
/** `-MB`, four digits, `-`: later bridge versions still read as the bridge. */
const BRIDGE_CLIENT = /^-MB[0-9]{4}-$/

/** A bridge peer id (40 hex, as WebTorrent takes `peerId`) from `random`. */
export function bridgePeerId(random: Uint8Array): string {
  if (random.length !== BRIDGE_PEER_ID_RANDOM_BYTES) {
    throw new RangeError(`a bridge peer id takes ${BRIDGE_PEER_ID_RANDOM_BYTES} random bytes`)
  }
  return bytesToHex(utf8ToBytes(BRIDGE_PEER_ID_PREFIX)) + bytesToHex(random)
}

/** True when `peerId` (40 hex, as a wire gives it) says it is a relay's bridge. */
export function isBridgePeer(peerId: string | undefined): boolean {
  if (peerId === undefined || !PEER_ID.test(peerId)) return false
  const client = String.fromCharCode(...hexToBytes(peerId.slice(0, 16)))
  return BRIDGE_CLIENT.test(client)
}
