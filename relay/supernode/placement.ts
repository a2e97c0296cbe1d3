// Where an info hash is tracked (ARCHITECTURE.md, "Supernodes, lookups and load"): its owners
// are the top R (= 2) rendezvous scores over the live supernodes this relay knows
// (directory.ts builds the set; shared/rendezvous.ts scores), so every relay that knows the
// same records names the same owners. The tracker front ends ask this before they answer:
// the WebSocket tracker refers browsers to the owners, the HTTP tracker proxies classic
// clients' announces to them (announce-proxy.ts).

import type { RendezvousSet } from '../../shared/rendezvous.ts'
import type { SupernodeRecord } from '../../shared/supernode.ts'
import { MAX_PLACEMENT_MEMO } from '../limits.ts'
import type { SupernodeDirectory } from './directory.ts'

export interface HashPlacement {
  /** This relay answers for the hash itself: it is an owner, or no live supernode is known
   * at all (a lone relay, or a candidate that has not found the network yet). */
  local: boolean
  /** The owners' records, best first; this relay's own among them when it owns the hash. */
  owners: SupernodeRecord[]
}

export class Placement {
  readonly #directory: SupernodeDirectory
  /** Owner ids by info hash, for the owner set they were scored in (the directory returns
   * the same set object while its ids do not change): every proxied announce asks, and the
   * digest and scoring were ~5% of a proxying relay's main thread (bench tracker-http).
   * Cleared when the set changes or MAX_PLACEMENT_MEMO hashes are held. */
  #memo: { set: RendezvousSet; ids: Map<string, readonly string[]> } | undefined

  constructor(directory: SupernodeDirectory) {
    this.#directory = directory
  }

  /** True when this relay is the only supernode it knows (or none is known): every hash is
   * tracked here, with nothing to ask per hash. The tracker's hot path asks this first. */
  alone(nowSeconds = Math.floor(Date.now() / 1000)): boolean {
    const set = this.#directory.owners(nowSeconds)
    return set.size === 0 || (set.size === 1 && set.has(this.#directory.selfId))
  }

  of(infoHash: string, nowSeconds = Math.floor(Date.now() / 1000)): HashPlacement {
    const directory = this.#directory
    const ids = this.#ownerIds(directory.owners(nowSeconds), infoHash)
    const owners: SupernodeRecord[] = []
    for (const id of ids) {
      const record = directory.get(id, nowSeconds)
      if (record) owners.push(record)
    }
    const self = directory.selfId
    return { local: owners.length === 0 || ids.includes(self), owners }
  }

  #ownerIds(set: RendezvousSet, infoHash: string): readonly string[] {
    let memo = this.#memo
    if (memo?.set !== set) memo = this.#memo = { set, ids: new Map() }
    let ids = memo.ids.get(infoHash)
    if (ids === undefined) {
      ids = set.owners(infoHash)
      if (memo.ids.size >= MAX_PLACEMENT_MEMO) memo.ids.clear()
      memo.ids.set(infoHash, ids)
    }
    return ids
  }

  /** The WebSocket trackers of the owners of a hash this relay does not answer for, or null
   * when it does. */
  referral(infoHash: string, nowSeconds?: number): string[] | null {
    if (this.alone(nowSeconds)) return null
    const placement = this.of(infoHash, nowSeconds)
    if (placement.local) return null
    return placement.owners.flatMap((r) => (r.urls[0] ? [wsTrackerUrl(r.urls[0])] : []))
  }
}

/** A relay origin's WebSocket tracker: `http://h:p` → `ws://h:p/`, https → wss. */
export function wsTrackerUrl(origin: string): string {
  return origin.replace(/^http/, 'ws') + '/'
}
