// Reading relays' live answers for the rows on screen (GET /v1/stats, GET /v1/listings/HASH):
// untrusted JSON from several relays merged into figures and listings to verify. Pure.

import { parseSwarmFigures } from '../catalog/relay-client.ts'
import type { SwarmFigures } from '../catalog/search-index.ts'

/** Listings read from one relay's answer for one hash (it caps them at 100 too). */
const MAX_LISTINGS_PER_HASH = 100
/** Most hashes refreshed at once: one page of the index, and what a relay answers. */
const MAX_FIGURES_HASHES = 100

/** Figures are the highest any relay reports: peers announce to several relays at once
 * (app/lib/trackers.ts), so adding them up would count peers twice. */
export function mergeFigures(a: SwarmFigures | undefined, b: SwarmFigures): SwarmFigures {
  if (!a) return b
  return {
    seeds: Math.max(a.seeds, b.seeds),
    leechers: Math.max(a.leechers, b.leechers),
    downloads: Math.max(a.downloads, b.downloads),
  }
}

/** The hashes worth asking about: well-formed, once each, at most MAX_FIGURES_HASHES. */
export function figuresQuery(infoHashes: string[]): string[] {
  const wellFormed = infoHashes.filter((h) => /^[0-9a-f]{40}$/.test(h))
  return [...new Set(wellFormed)].slice(0, MAX_FIGURES_HASHES)
}

/** The figures of `hashes` in relays' `/v1/stats` answers, merged. */
export function statsFigures(answers: unknown[], hashes: string[]): Map<string, SwarmFigures> {
  const live = new Map<string, SwarmFigures>()
  for (const answer of answers) {
    const stats = (answer as { stats?: Record<string, unknown> } | null)?.stats
    if (typeof stats !== 'object' || stats === null) continue
    for (const h of hashes) {
      const f = parseSwarmFigures(stats[h])
      if (f) live.set(h, mergeFigures(live.get(h), f))
    }
  }
  return live
}

/** The figures in `live` that differ from those `known`. */
export function changedFigures(
  live: Map<string, SwarmFigures>,
  known: Pick<ReadonlyMap<string, SwarmFigures>, 'get'>,
): Map<string, SwarmFigures> {
  const changed = new Map<string, SwarmFigures>()
  for (const [h, f] of live) {
    const old = known.get(h)
    if (
      !old ||
      old.seeds !== f.seeds ||
      old.leechers !== f.leechers ||
      old.downloads !== f.downloads
    ) {
      changed.set(h, f)
    }
  }
  return changed
}

/** Listings (to verify) and merged figures from relays' `/v1/listings/HASH` answers. */
export function hashAnswers(answers: unknown[]): { values: unknown[]; live: SwarmFigures | null } {
  const values: unknown[] = []
  let live: SwarmFigures | null = null
  for (const answer of answers) {
    const body = answer as { listings?: unknown; stats?: unknown } | null
    if (Array.isArray(body?.listings)) values.push(...body.listings.slice(0, MAX_LISTINGS_PER_HASH))
    const f = parseSwarmFigures(body?.stats)
    if (f) live = mergeFigures(live ?? undefined, f)
  }
  return { values, live }
}
