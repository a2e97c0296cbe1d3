// Where the zone's data comes from while the relay runs: its configured zones and name
// servers, and the live supernodes of its directory (its own record first). A supernode is
// named only through URLs the relay itself would contact (the host cache's validation), so
// the zone never hands out a private or loopback address unless --local-network says this
// is a LAN or a test network. Candidates are left out: they do not track hashes.

import type { SupernodeRecord } from '../../shared/supernode.ts'
import type { RelayConfig } from '../config.ts'
import type { Zone } from './zone.ts'

export interface AuthorityDeps {
  config: Pick<RelayConfig, 'dnsZones' | 'dnsNameServers' | 'dnsTtl' | 'publicUrl'>
  /** The directory's owning supernodes (admitted, shared/admission.ts), own first when it
   * is one. */
  live: (nowSeconds: number) => SupernodeRecord[]
  /** Whether this relay would contact `url` (HostCache.check). */
  mayName: (url: string) => boolean
  now?: () => number
}

/** A function giving the zone as it stands, rebuilt at most once a second. */
export function zoneSource(deps: AuthorityDeps): () => Zone {
  const { config } = deps
  const origins = config.dnsZones.map((z) => z.toLowerCase().replace(/\.$/, ''))
  const now = deps.now ?? (() => Date.now())
  let cached: { at: number; zone: Zone } | undefined
  let serial = { key: '', value: 0 }
  return () => {
    const nowSeconds = Math.floor(now() / 1000)
    if (cached?.at === nowSeconds) return cached.zone
    const supernodes = deps
      .live(nowSeconds)
      .filter((r) => r.role === 'supernode')
      .map((r) => ({ id: r.id, urls: r.urls.filter(deps.mayName) }))
      .filter((r) => r.urls.length > 0)
    // The serial moves (to the current time) whenever the set of URLs changes.
    const key = supernodes.map((s) => s.urls.join(' ')).join('\n')
    if (key !== serial.key) serial = { key, value: Math.max(serial.value + 1, nowSeconds) }
    const zone: Zone = {
      origins,
      nameServers: nameServers(config, origins),
      ttl: config.dnsTtl,
      serial: serial.value,
      supernodes,
    }
    cached = { at: nowSeconds, zone }
    return zone
  }
}

/** --dns-ns, else this relay's public host name, else ns.<first zone>. */
function nameServers(config: AuthorityDeps['config'], origins: string[]): string[] {
  if (config.dnsNameServers.length) return config.dnsNameServers
  const host = new URL(config.publicUrl).hostname
  const literal = /^[\d.]+$/.test(host) || host.startsWith('[') || host === 'localhost'
  return [literal ? `ns.${origins[0]}` : host]
}
