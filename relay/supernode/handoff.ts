// Moving swarm state between owners (ARCHITECTURE.md, "Supernodes, lookups and load"): when
// the live supernode set changes (a promotion, a demotion, a leave, a node failing or coming
// back), the owners of some hashes change with it. Each relay then sends the classic peers
// and completed count of every swarm whose owners changed to each of its new owners, and
// forgets the swarms it no longer owns, so peers need not re-announce to be found.
//
//   POST /v1/handoff   a signed 'handoff' message (node-message.ts) whose body is
//                      {swarms: [{infoHash, downloaded, peers: [{id, ip, port, seeder}]}]}
//
// Only an admitted supernode this relay knows (shared/admission.ts; any role: a leaving one
// has just demoted itself) may hand it state; the payload is checked field by field and the tracker's caps hold.
// WebRTC peers do not move (tracker.ts, handoffState): their WebSockets stay with this relay,
// which serves them until their next announce refers them to the new owners.
//
// A batch that cannot be delivered is kept (the swarm stays here) and retried on later
// ticks, MAX_HANDOFF_RETRIES times at most; after that the peers' own announces, proxied to
// the owners, rebuild the swarm there.

import type { SignatureVerifier } from '../../shared/identity.ts'
import { RendezvousSet } from '../../shared/rendezvous.ts'
import type { Logger } from '../log.ts'
import type { PeerTransport } from '../peering/peer-fetch.ts'
import {
  MAX_HANDOFF_PEERS,
  MAX_HANDOFF_SWARMS,
  MAX_HELLO_ANSWER_BYTES,
  SUPERNODE_REQUEST_TIMEOUT_MS,
} from '../limits.ts'
import type { OpenSslSigner } from '../openssl-signer.ts'
import { compactPeer, type SwarmState, type Tracker } from '../tracker/tracker.ts'
import type { SupernodeDirectory } from './directory.ts'
import {
  NodeMessageError,
  ReplayGuard,
  signNodeMessage,
  verifyNodeMessage,
} from './node-message.ts'

/** Times an undelivered batch is tried again on later ticks. */
export const MAX_HANDOFF_RETRIES = 3

export interface HandoffDeps {
  tracker: Tracker
  directory: SupernodeDirectory
  signer: OpenSslSigner
  verify: SignatureVerifier
  log: Logger
  /** How requests to other relays travel (sealed over plain HTTP: relay/sealed/transport.ts). */
  transport: PeerTransport
  /** The host cache's check: a record anyone can sign must not make us post to our LAN. */
  mayContact?: (url: string) => boolean
  timeoutMs?: number
}

interface Batch {
  to: string
  swarms: SwarmState[]
  /** Hashes to forget once delivered (those this relay no longer owns). */
  release: string[]
  tries: number
}

export class Handoff {
  readonly stats = { sent: 0, failed: 0, received: 0, adopted: 0 }
  readonly #deps: HandoffDeps
  readonly #replay = new ReplayGuard()
  #last: RendezvousSet | undefined
  #retry: Batch[] = []
  #busy = false

  constructor(deps: HandoffDeps) {
    this.#deps = deps
  }

  /** Remembers the current owner set without moving anything (call once at start). */
  init(nowSeconds: number): void {
    this.#last = this.#deps.directory.owners(nowSeconds)
  }

  /**
   * If the owner set changed since the last call, sends each swarm's state to its new owners
   * and forgets the swarms this relay no longer owns; retries batches that failed before.
   * Returns how many batches were delivered.
   */
  async rebalance(nowSeconds = Math.floor(Date.now() / 1000)): Promise<number> {
    if (this.#busy) return 0
    this.#busy = true
    try {
      const current = this.#deps.directory.owners(nowSeconds)
      const before = this.#last ?? current
      this.#last = current
      const batches = this.#retry.splice(0)
      if (current !== before && !sameIds(current, before)) {
        batches.push(...this.#plan(before, current))
      }
      return await this.#deliver(batches, nowSeconds)
    } finally {
      this.#busy = false
    }
  }

  /** Graceful leave (after this relay demoted itself): every swarm it holds goes to its
   * owners among the remaining supernodes. Returns how many batches were delivered. */
  async handOffAll(timeoutMs: number): Promise<number> {
    const nowSeconds = Math.floor(Date.now() / 1000)
    const current = this.#deps.directory.owners(nowSeconds)
    const batches = this.#plan(new RendezvousSet([]), current)
    this.#last = current
    return this.#deliver(batches, nowSeconds, timeoutMs)
  }

  /** Which state goes where when the owner set goes from `before` to `after`. */
  #plan(before: RendezvousSet, after: RendezvousSet): Batch[] {
    const { tracker, directory } = this.#deps
    const self = directory.selfId
    const byTarget = new Map<string, { swarms: SwarmState[]; release: string[] }>()
    for (const [infoHash, swarm] of tracker.swarms) {
      if (swarm.tcp.size === 0 && swarm.completed === 0) continue
      const was = before.owners(infoHash)
      const now = after.owners(infoHash)
      if (now.length === 0) continue
      const owned = now.includes(self)
      const targets = handoffTargets(was, now, self)
      if (targets.length === 0) continue
      const state = tracker.handoffState(infoHash, MAX_HANDOFF_PEERS)
      if (!state) continue
      for (const to of targets) {
        let entry = byTarget.get(to)
        if (!entry) byTarget.set(to, (entry = { swarms: [], release: [] }))
        entry.swarms.push(state)
        if (!owned) entry.release.push(infoHash)
      }
    }
    const batches: Batch[] = []
    for (const [to, { swarms, release }] of byTarget) {
      for (let i = 0; i < swarms.length; i += MAX_HANDOFF_SWARMS) {
        const part = swarms.slice(i, i + MAX_HANDOFF_SWARMS)
        const moving = new Set(part.map((s) => s.infoHash))
        batches.push({ to, swarms: part, release: release.filter((h) => moving.has(h)), tries: 0 })
      }
    }
    return batches
  }

  async #deliver(batches: Batch[], nowSeconds: number, timeoutMs?: number): Promise<number> {
    const results = await Promise.all(batches.map((b) => this.#send(b, nowSeconds, timeoutMs)))
    let delivered = 0
    results.forEach((ok, i) => {
      const batch = batches[i]
      if (ok) {
        delivered++
        for (const infoHash of batch.release) this.#deps.tracker.release(infoHash)
      } else if (++batch.tries <= MAX_HANDOFF_RETRIES) {
        this.#retry.push(batch)
      }
    })
    return delivered
  }

  async #send(batch: Batch, nowSeconds: number, timeoutMs?: number): Promise<boolean> {
    const { directory, signer, log } = this.#deps
    const url = directory.get(batch.to, nowSeconds)?.urls[0]
    if (!url || !(this.#deps.mayContact?.(url) ?? true)) return false
    const message = signNodeMessage(signer, 'handoff', batch.to, { swarms: batch.swarms })
    try {
      await this.#deps.transport.fetchJson(`${url}/v1/handoff`, {
        method: 'POST',
        body: JSON.stringify(message),
        timeoutMs: timeoutMs ?? this.#deps.timeoutMs ?? SUPERNODE_REQUEST_TIMEOUT_MS,
        maxBytes: MAX_HELLO_ANSWER_BYTES,
      })
      this.stats.sent++
      log.info('swarms handed off', { to: batch.to, url, swarms: batch.swarms.length })
      return true
    } catch (err) {
      this.stats.failed++
      log.warn('handoff failed', { to: batch.to, url, error: String(err), tries: batch.tries })
      return false
    }
  }

  /**
   * Takes a handoff message (parsed JSON from POST /v1/handoff). Throws NodeMessageError for
   * a message that is not a fresh, signed handoff to this relay from a supernode it knows.
   */
  receive(value: unknown, nowSeconds: number): { swarms: number; adopted: number } {
    const { directory, tracker } = this.#deps
    const { message, payload } = verifyNodeMessage(value, {
      self: directory.selfId,
      typ: 'handoff',
      nowSeconds,
      verify: this.#deps.verify,
      replay: this.#replay,
    })
    // Admitted, any role (a leaving supernode has just demoted itself): a record anyone can
    // push must not let its key fill our swarms with peers of its choosing.
    if (!directory.get(message.from, nowSeconds) || !directory.isAdmitted(message.from)) {
      throw new NodeMessageError(
        'unknown-sender',
        'handoff from a node that is no admitted supernode',
      )
    }
    const swarms = parseSwarms(payload)
    let adopted = 0
    const nowMs = Date.now()
    for (const state of swarms) adopted += tracker.adopt(state, nowMs)
    this.stats.received++
    this.stats.adopted += adopted
    this.#deps.log.info('swarms taken over', { from: message.from, swarms: swarms.length, adopted })
    return { swarms: swarms.length, adopted }
  }
}

function sameIds(a: RendezvousSet, b: RendezvousSet): boolean {
  return a.ids.length === b.ids.length && a.ids.every((id, i) => id === b.ids[i])
}

/**
 * The relays a swarm held here goes to when its owners go from `was` to `now`. None when its
 * owners did not change (this relay among them). Otherwise every new owner but this relay,
 * those that held it too: while this relay was an owner each announce was copied to the
 * others (announce-proxy.ts), but a copy that failed (a timeout on a busy machine, a restart)
 * is repaired by nothing until the peer announces again, up to half an hour later, and
 * meanwhile that owner answers lookups without the peer. Taking state it has is a merge
 * (Tracker.adopt adds only the peers it lacks).
 */
export function handoffTargets(
  was: readonly string[],
  now: readonly string[],
  self: string,
): string[] {
  if (was.includes(self) && sameMembers(was, now)) return []
  return now.filter((id) => id !== self)
}

/** Whether two owner lists name the same nodes, in any order. */
function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id))
}

const HEX40 = /^[0-9a-f]{40}$/

/** The handoff payload, checked field by field; throws NodeMessageError('malformed'). */
export function parseSwarms(payload: unknown): SwarmState[] {
  const swarms = (payload as { swarms?: unknown } | null)?.swarms
  if (!Array.isArray(swarms) || swarms.length > MAX_HANDOFF_SWARMS) {
    bad(`swarms must be a list of at most ${MAX_HANDOFF_SWARMS}`)
  }
  return swarms.map((s: unknown, i): SwarmState => {
    const o = s as Record<string, unknown> | null
    if (typeof o !== 'object' || o === null) bad(`swarms[${i}] must be an object`)
    if (typeof o.infoHash !== 'string' || !HEX40.test(o.infoHash)) {
      bad(`swarms[${i}].infoHash must be 40 lowercase hex chars`)
    }
    if (!Number.isSafeInteger(o.downloaded) || (o.downloaded as number) < 0) {
      bad(`swarms[${i}].downloaded must be a count`)
    }
    if (!Array.isArray(o.peers) || o.peers.length > MAX_HANDOFF_PEERS) {
      bad(`swarms[${i}].peers must be a list of at most ${MAX_HANDOFF_PEERS}`)
    }
    const peers = o.peers.map((p: unknown, j) => {
      const q = p as Record<string, unknown> | null
      const where = `swarms[${i}].peers[${j}]`
      if (typeof q !== 'object' || q === null) bad(`${where} must be an object`)
      if (typeof q.id !== 'string' || !HEX40.test(q.id)) bad(`${where}.id must be 40 hex chars`)
      if (typeof q.port !== 'number' || !Number.isInteger(q.port) || q.port < 1 || q.port > 65535) {
        bad(`${where}.port must be 1-65535`)
      }
      if (typeof q.ip !== 'string' || q.ip.length > 45 || compactPeer(q.ip, q.port) === null) {
        bad(`${where}.ip must be an IP address`)
      }
      if (typeof q.seeder !== 'boolean') bad(`${where}.seeder must be true or false`)
      return { id: q.id, ip: q.ip, port: q.port, seeder: q.seeder }
    })
    return { infoHash: o.infoHash, downloaded: o.downloaded as number, peers }
  })
}

function bad(message: string): never {
  throw new NodeMessageError('malformed', message)
}
