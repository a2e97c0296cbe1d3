// The browser mesh as the Network view shows it (components/MeshPanel.svelte): MeshStats
// (mesh/types.ts) turned into rows a person reads. Pure. What a neighbour sent only reaches
// here as peer ids, hashes and counts the mesh kept; names come from this page's own torrents.

import { noMeshTotals } from './mesh/mesh.ts'
import type { MeshStats, NeighbourRow } from './mesh/types.ts'

/** Swarms named in one neighbour's row; the rest are counted ("and 3 more"). Two browsers
 * rarely share more, and a row must stay short. */
export const MAX_SWARMS_SHOWN = 5

export type MeshTotal = Exclude<keyof MeshStats, 'neighbours' | 'banned'>

/** What the Network view shows before the mesh has run (and what tests start from). */
export function noMeshStats(): MeshStats {
  return { neighbours: [], ...noMeshTotals(), banned: [] }
}

/** What each total counts, in the order shown (a Record, so none can be left out). */
const TOTAL_LABELS: Record<MeshTotal, string> = {
  introductionsReceived: 'Introductions received',
  introductionsMade: 'Introductions made',
  signalsForwarded: 'Signals forwarded',
  lookupsSent: 'Lookups sent',
  lookupsAnswered: 'Lookups answered',
  referralsFollowed: 'Referrals followed',
  recordsStored: 'Records stored',
}

export const MESH_TOTALS: readonly { key: MeshTotal; label: string }[] = (
  Object.keys(TOTAL_LABELS) as MeshTotal[]
).map((key) => ({ key, label: TOTAL_LABELS[key] }))

/** The end of a peer id: its start names the client (BEP 20), the same for every browser. */
export function shortPeerId(peerId: string): string {
  return peerId.length <= 8 ? peerId : `…${peerId.slice(-8)}`
}

export interface SwarmLabel {
  infoHash: string
  /** The torrent's name when this page knows it, else null (show the short hash). */
  name: string | null
}

export interface NeighbourView {
  row: NeighbourRow
  swarms: SwarmLabel[]
  /** Shared swarms left out of `swarms`. */
  moreSwarms: number
}

/** Info hash → name, of the page's torrents whose both are known. */
export function swarmNames(
  entries: readonly { infoHash: string; name: string }[],
): ReadonlyMap<string, string> {
  return new Map(entries.flatMap((e) => (e.infoHash && e.name ? [[e.infoHash, e.name]] : [])))
}

/** The neighbours' rows, one per peer id (the first kept: a view keyed by peer id must not
 * meet one twice), each with at most MAX_SWARMS_SHOWN swarms, named ones first. */
export function neighbourViews(
  neighbours: readonly NeighbourRow[],
  names: ReadonlyMap<string, string>,
): NeighbourView[] {
  const seen = new Set<string>()
  const views: NeighbourView[] = []
  for (const row of neighbours) {
    if (seen.has(row.peerId)) continue
    seen.add(row.peerId)
    const swarms = [...new Set(row.swarms)].map((infoHash) => ({
      infoHash,
      name: names.get(infoHash) ?? null,
    }))
    swarms.sort((a, b) => Number(a.name === null) - Number(b.name === null))
    views.push({
      row,
      swarms: swarms.slice(0, MAX_SWARMS_SHOWN),
      moreSwarms: Math.max(0, swarms.length - MAX_SWARMS_SHOWN),
    })
  }
  return views
}
