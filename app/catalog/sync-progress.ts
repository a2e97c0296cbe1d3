// What the Index's sync panel (app/components/SyncStatus.svelte) says about a catalog on its
// way in: per relay and in total, how many listings are in, how many are left, and how many
// were refused (failed verification) and from where. Pure, so the wording is tested.

import { formatAge, formatCount } from '../lib/format.ts'
import type { RelaySyncProgress } from './protocol.ts'
import { relayHost } from './relay-client.ts'

const listings = (n: number) => (n === 1 ? 'listing' : 'listings')

/** "2 refused", or nothing when none were. */
function refusedPart(refused: number): string[] {
  return refused > 0 ? [`${formatCount(refused)} refused`] : []
}

/** One relay's line: "1,234 of 1,000,000 listings in · 2 refused" while it is read. */
export function relayProgressText(relay: RelaySyncProgress, nowMs: number = Date.now()): string {
  if (relay.state === 'error') {
    return [relay.error ?? 'unreachable', ...refusedPart(relay.refused)].join(' · ')
  }
  if (relay.state === 'syncing') {
    const of = relay.remaining === null ? '' : ` of ${formatCount(relay.fetched + relay.remaining)}`
    const inText = `${formatCount(relay.fetched)}${of} ${listings(relay.fetched + (relay.remaining ?? 0))} in`
    return [inText, ...refusedPart(relay.refused)].join(' · ')
  }
  const parts = [`${formatCount(relay.fetched)} ${listings(relay.fetched)} read this pass`]
  parts.push(...refusedPart(relay.refused))
  if (relay.lastSyncAt) {
    parts.push(`last complete ${formatAge(Math.floor(relay.lastSyncAt / 1000), nowMs)}`)
  }
  return parts.join(' · ')
}

export interface SyncTotals {
  /** Listings in this browser. */
  stored: number
  /** Listings the relays being read still have after what was read (an estimate: the same
   * listing on two relays counts twice), or null when none of them says. */
  remaining: number | null
  /** Refused from every relay, and from mesh neighbours. */
  refused: number
  /** Where refusals came from, the most first: a relay's host, or "the mesh". */
  refusedFrom: { source: string; count: number }[]
}

/** The whole catalog's progress: every relay's, and the mesh's refusals. */
export function syncTotals(
  relays: readonly RelaySyncProgress[],
  stored: number,
  meshRefused: number,
): SyncTotals {
  const reading = relays.filter((r) => r.state === 'syncing' && r.remaining !== null)
  const remaining = reading.length ? reading.reduce((sum, r) => sum + r.remaining!, 0) : null
  const refusedFrom = relays
    .filter((r) => r.refused > 0)
    .map((r) => ({ source: relayHost(r.relay), count: r.refused }))
  if (meshRefused > 0) refusedFrom.push({ source: 'the mesh', count: meshRefused })
  refusedFrom.sort((a, b) => b.count - a.count)
  const refused = refusedFrom.reduce((sum, r) => sum + r.count, 0)
  return { stored, remaining, refused, refusedFrom }
}

/** The total line: "1,234 of 1,000,000 listings in · 2 refused". */
export function totalsText(t: SyncTotals): string {
  const of =
    t.remaining === null || t.remaining === 0 ? '' : ` of ${formatCount(t.stored + t.remaining)}`
  const inText = `${formatCount(t.stored)}${of} ${listings(t.stored + (t.remaining ?? 0))} in`
  return [inText, ...refusedPart(t.refused)].join(' · ')
}

/** Where refusals came from: "Refused: 3 from relay.example, 1 from the mesh". */
export function refusedText(t: SyncTotals): string | null {
  if (t.refused === 0) return null
  const from = t.refusedFrom.map((r) => `${formatCount(r.count)} from ${r.source}`)
  return `Refused (failed verification, never shown): ${from.join(', ')}`
}
