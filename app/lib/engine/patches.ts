// Every patch the engine makes to WebTorrent's objects, by name, and whether each applied.
// A patch checks the shape it relies on and leaves the object stock when it is not there, so
// a WebTorrent that moved on degrades to stock speed instead of breaking transfers; this
// registry makes that visible: each miss is counted, warned about once per page by name, and
// shown in the torrent view (FastPathStatus.svelte). patches.test.ts runs every patch on the
// real bundle and fails, naming the patch, when one does not apply.

import type { Torrent } from 'webtorrent/dist/webtorrent.min.js'

/** What each patch does, as the diagnostics say it. Torrent patches apply once per torrent;
 * wire patches once per WebRTC wire (skip-redundant-haves: every wire). */
export const PATCHES = {
  // Per torrent (fast/torrent.ts, add-peer.ts).
  'prompt-updates': 'request loop runs as soon as a block lands',
  'rarest-first': 'rarest pieces first (sequential while streaming)',
  'pooled-pieces': 'pieces joined into pooled buffers',
  endgame: 'last blocks asked of more than one peer',
  'add-peer': 'one rule for new peers (newest WebRTC attempt wins; bridge: TCP before uTP)',
  // Per WebRTC wire (fast/wire.ts, fast/requests.ts, fast/start.ts).
  'skip-redundant-haves': 'no have messages for pieces the peer has',
  batching: 'messages batched into large data-channel messages',
  'deep-channel': '4 MiB data-channel send buffer',
  'request-merging': 'larger requests offered to Monsoon peers',
  'bounded-start': "peer's requests bounded while the connection starts",
} as const

export type PatchName = keyof typeof PATCHES

export const TORRENT_PATCHES: readonly PatchName[] = [
  'prompt-updates',
  'rarest-first',
  'pooled-pieces',
  'endgame',
  'add-peer',
]
export const WIRE_PATCHES: readonly PatchName[] = [
  'skip-redundant-haves',
  'batching',
  'deep-channel',
  'request-merging',
  'bounded-start',
]

export interface PatchCount {
  /** Objects the patch was made on. */
  applied: number
  /** Objects it was tried on and left stock: their shape was not what it relies on. */
  missed: number
}

/** What the engine did to one torrent, for diagnostics, tests and benchmarks. */
export interface EngineReport {
  /** Wires the torrent has had (WebRTC and classic). */
  wires: number
  patches: Partial<Record<PatchName, PatchCount>>
  /** How the bounded starts ended so far (fast/start.ts). */
  startEnds: Record<string, number>
}

const reports = new WeakMap<Torrent, EngineReport>()
const warned = new Set<PatchName>()

/** The report for `torrent`, made on first use. */
export function engineReport(torrent: Torrent): EngineReport {
  let report = reports.get(torrent)
  if (!report) {
    report = { wires: 0, patches: {}, startEnds: {} }
    reports.set(torrent, report)
  }
  return report
}

/** Counts one try of `name` on an object of `torrent`'s; a miss warns once per page. */
export function recordPatch(torrent: Torrent, name: PatchName, applied: boolean): boolean {
  const count = (engineReport(torrent).patches[name] ??= { applied: 0, missed: 0 })
  if (applied) count.applied++
  else {
    count.missed++
    if (!warned.has(name)) {
      warned.add(name)
      console.warn(`monsoon engine: patch '${name}' did not apply; that part runs stock`)
    }
  }
  return applied
}

/** The patches tried on `torrent` that missed at least once. */
export function missedPatches(report: EngineReport): PatchName[] {
  return (Object.keys(report.patches) as PatchName[]).filter((n) => report.patches[n]!.missed)
}

/** One line of the diagnostics: a patch and whether it is active on this torrent. */
export interface PatchRow {
  name: PatchName
  what: string
  /** active: applied wherever tried; partly: missed somewhere; stock: never applied;
   * unused: not tried yet (no WebRTC wire yet, or not this kind of client). */
  state: 'active' | 'partly' | 'stock' | 'unused'
  applied: number
  missed: number
}

/** The diagnostics' rows for `report`, torrent patches first. */
export function patchRows(report: EngineReport): PatchRow[] {
  return [...TORRENT_PATCHES, ...WIRE_PATCHES].map((name) => {
    const { applied, missed } = report.patches[name] ?? { applied: 0, missed: 0 }
    const state =
      applied + missed === 0 ? 'unused' : missed === 0 ? 'active' : applied ? 'partly' : 'stock'
    return { name, what: PATCHES[name], state, applied, missed }
  })
}
