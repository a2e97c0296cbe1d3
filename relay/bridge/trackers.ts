// Where the bridge announces a hash. Browsers announce to the WebSocket trackers of the hash's
// owners (supernode/placement.ts) and classic clients' HTTP announces reach the owners too
// (proxied when need be), so the bridge announces to the owners' HTTP and WebSocket trackers,
// or to its own when it owns the hash or knows no other supernode. Trackers named by a posted
// magnet or .torrent are added, filtered like any URL a stranger hands the relay.

import { MAX_BRIDGE_BODY_TRACKERS } from '../limits.ts'
import { addressKind } from '../../shared/address.ts'
import { wsTrackerUrl, type HashPlacement } from '../supernode/placement.ts'

/** The HTTP and WebSocket trackers of a hash's owners, best first; this relay's own (at
 * `selfOrigin`) stands for it among them, or alone when no owner is known. */
export function ownerTrackers(
  placement: HashPlacement,
  selfId: string,
  selfOrigin: string,
): string[] {
  const origins = placement.owners.length
    ? placement.owners.flatMap((r) => (r.id === selfId ? [selfOrigin] : r.urls.slice(0, 1)))
    : [selfOrigin]
  return [...new Set(origins)].flatMap((o) => [`${o}/announce`, wsTrackerUrl(o)])
}

const TRACKER_SCHEMES = new Set(['http:', 'https:', 'udp:', 'ws:', 'wss:'])

/**
 * The trackers of a posted torrent the bridge will announce to: http(s), udp and ws(s) URLs
 * only, on public hosts unless the relay runs on a local network, at most
 * MAX_BRIDGE_BODY_TRACKERS. Anything else is dropped: a stranger must not make the relay
 * knock on this machine or its LAN.
 */
export function bodyTrackers(urls: readonly string[], localNetwork: boolean): string[] {
  const out: string[] = []
  for (const raw of urls) {
    if (out.length >= MAX_BRIDGE_BODY_TRACKERS) break
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      continue
    }
    if (!TRACKER_SCHEMES.has(url.protocol) || url.username || url.password) continue
    if (!localNetwork && addressKind(url.hostname) !== 'public') continue
    if (!out.includes(url.href)) out.push(url.href)
  }
  return out
}

/**
 * The origin the bridge announces to its own tracker at. A relay whose public URL names
 * localhost (the default) is reached on the address it listens on, so the tracker sees the
 * bridge at an address peers on this machine can dial; otherwise at its public URL, so
 * peers elsewhere get the address the relay is reached at.
 */
export function selfOrigin(publicUrl: string, host: string, port: number): string {
  const { hostname, protocol } = new URL(publicUrl)
  if (hostname !== 'localhost') return publicUrl.replace(/\/$/, '')
  const listen = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host
  return `${protocol}//${listen.includes(':') ? `[${listen}]` : listen}:${port}`
}
