// What a Monsoon peer says of itself in its peer id. Peer ids are in the Azureus style of
// BEP 20: `-`, a two-letter client code, four version digits, `-`, then random bytes. Stock
// WebTorrent says `WW`; Monsoon's pages say `MW` (Monsoon web) and a relay's bridge (relay/bridge/)
// says `MB` (Monsoon bridge). Two uses:
// - the torrent view's "found" column tells the bridge apart from browsers, which reach it
//   through the same relay trackers and over the same WebRTC as each other;
// - in glare the engine keeps the lower peer id's offer only with another Monsoon peer, and
//   with everyone else the attempt stock WebTorrent keeps (engine/pending-peers.ts), since
//   both sides must pick the same attempt.
// A label, not a proof: any peer may claim it. Nothing may rely on it but choices that cost a
// liar only its own connection.

import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js'

/** The start of the bridge's peer id. */
export const BRIDGE_PEER_ID_PREFIX = '-MB0001-'
/** The start of a Monsoon page's peer id. */
export const PAGE_PEER_ID_PREFIX = '-MW0001-'
/** Random bytes after the prefix: a peer id is 20 bytes (BEP 3). */
export const PEER_ID_RANDOM_BYTES = 12

const PEER_ID = /^[0-9a-f]{40}$/
/** `-MB` and four digits: later bridge versions still read as the bridge. */
const BRIDGE_CLIENT = /^-MB[0-9]{4}-$/
/** Any Monsoon client: the bridge or a page, any version. */
const MONSOON_CLIENT = /^-M[BW][0-9]{4}-$/

function peerId(prefix: string, random: Uint8Array): string {
  if (random.length !== PEER_ID_RANDOM_BYTES) {
    throw new RangeError(`a peer id takes ${PEER_ID_RANDOM_BYTES} random bytes`)
  }
  return bytesToHex(utf8ToBytes(prefix)) + bytesToHex(random)
}

/** A bridge peer id (40 hex, as WebTorrent takes `peerId`) from `random`. */
export const bridgePeerId = (random: Uint8Array): string => peerId(BRIDGE_PEER_ID_PREFIX, random)

/** A page's peer id (40 hex) from `random`. */
export const pagePeerId = (random: Uint8Array): string => peerId(PAGE_PEER_ID_PREFIX, random)

/** The 8-character client part of a well-formed peer id (40 lowercase hex), else undefined. */
function clientPart(id: string | undefined): string | undefined {
  if (id === undefined || !PEER_ID.test(id)) return undefined
  return String.fromCharCode(...hexToBytes(id.slice(0, 16)))
}

/** True when `id` (40 hex, as a wire gives it) says it is a relay's bridge. */
export function isBridgePeer(id: string | undefined): boolean {
  const client = clientPart(id)
  return client !== undefined && BRIDGE_CLIENT.test(client)
}

/** True when `id` says it is a Monsoon page or bridge. */
export function isMonsoonPeer(id: string | undefined): boolean {
  const client = clientPart(id)
  return client !== undefined && MONSOON_CLIENT.test(client)
}
