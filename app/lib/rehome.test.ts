import { describe, expect, it } from 'vitest'
import { identityFromSecret } from '../../shared/identity.ts'
import { rendezvousOwners } from '../../shared/rendezvous.ts'
import {
  createSupernodeRecord,
  type SupernodeRecord,
  type SupernodeRole,
} from '../../shared/supernode.ts'
import { MOVED_PREFIX, REFERRAL_PREFIX } from './referral.ts'
import {
  DOWN_AFTER_MS,
  TorrentHome,
  planTrackers,
  readSources,
  type HomeContext,
  type HomedTorrent,
  type RehomeReason,
} from './rehome.ts'
import { DEAD_FOR_MS, SupernodeView } from './supernode-view.ts'

const NOW_S = 1_800_000_000
const HASH = '0123456789abcdef0123456789abcdef01234567'
const ORIGIN = 'http://127.0.0.1:4000'
const ORIGIN_TRACKER = 'ws://127.0.0.1:4000/'

const relay = (n: number) => `http://127.0.0.1:${4000 + n}`
const tracker = (n: number) => `ws://127.0.0.1:${4000 + n}/`

function record(n: number, role: SupernodeRole = 'supernode', urls = [relay(n)]) {
  return createSupernodeRecord(
    {
      urls,
      role,
      capacity: { maxHashes: 100, maxPeers: 1000, bandwidth: 10_000 },
      load: { hashes: 0, peers: 0, bandwidth: 0 },
    },
    identityFromSecret(new Uint8Array(32).fill(n)),
    { seq: NOW_S, ts: NOW_S },
  )
}

/** Relays 0 (the origin) to 4 as supernodes; a fake clock and timers. */
function setup(answers: Record<string, SupernodeRecord[] | 'down'> = {}) {
  const records = [0, 1, 2, 3, 4].map((n) => record(n))
  const ids = records.map((r) => r.id)
  const trackerOf = (id: string) => tracker(ids.indexOf(id))
  let now = NOW_S * 1000
  const reads: string[] = []
  const fetchJson = async (url: string) => {
    reads.push(url)
    const relayUrl = url.replace(/\/v1\/supernodes$/, '')
    const answer = answers[relayUrl] ?? records
    if (answer === 'down') throw new Error(`cannot reach ${relayUrl}`)
    // Each answering relay names every supernode it lists as a root (shared/admission.ts), and
    // a cap that fits five relays on 127.0.0.1.
    return { supernodes: answer, roots: answer.map((r) => r.id), maxPerPrefix: 8 }
  }
  const timers: { at: number; fn: () => void }[] = []
  const view = new SupernodeView(fetchJson, () => now)
  const ctx: HomeContext = {
    origin: ORIGIN,
    originTracker: ORIGIN_TRACKER,
    secure: false,
    relays: () => [],
    view,
    now: () => now,
    setTimer: (fn, ms) => {
      const t = { at: now + ms, fn }
      timers.push(t)
      return t
    },
    clearTimer: (t) => timers.splice(timers.indexOf(t as (typeof timers)[0]), 1),
  }
  const torrent: HomedTorrent & {
    trackers: string[]
    moves: { trackers: string[]; reason: RehomeReason }[]
  } = {
    infoHash: HASH,
    fromLink: [],
    trackers: [ORIGIN_TRACKER],
    moves: [],
    retarget(trackers, reason) {
      this.trackers = trackers
      this.moves.push({ trackers, reason })
      return true
    },
  }
  const home = new TorrentHome(ctx, torrent)
  /** Moves the clock, firing timers that come due, and lets the re-homes they start finish. */
  const advance = async (ms: number) => {
    now += ms
    for (const t of timers.filter((t) => t.at <= now)) {
      timers.splice(timers.indexOf(t), 1)
      t.fn()
    }
    await settle()
  }
  const owners = (excluded: string[] = [], r = 2) =>
    rendezvousOwners(
      HASH,
      ids.filter((id) => !excluded.includes(id)),
      r,
    )
  return { records, ids, trackerOf, view, ctx, torrent, home, reads, timers, advance, owners }
}

const settle = () => new Promise((r) => setTimeout(r, 0))

describe('planTrackers', () => {
  it('announces to the origin until a supernode is known, then to the owners', async () => {
    const s = setup()
    expect(planTrackers(s.ctx, s.torrent)).toEqual([ORIGIN_TRACKER])
    await s.view.read([ORIGIN])
    expect(planTrackers(s.ctx, s.torrent)).toEqual(s.owners().map(s.trackerOf))
  })

  it('reaches the relay that served the page at the page’s origin, whatever URL it publishes', async () => {
    const s = setup()
    // The origin lists its own record first, under the name it gave itself.
    const self = record(0, 'supernode', ['http://localhost:4000'])
    const t = setup({ [ORIGIN]: [self] })
    await t.view.read([ORIGIN])
    expect(t.view.idOf(ORIGIN)).toBe(s.records[0].id)
    expect(planTrackers(t.ctx, t.torrent)).toEqual([ORIGIN_TRACKER])
    expect(t.view.idsOf([ORIGIN_TRACKER])).toEqual([s.records[0].id])
  })

  it('takes a referral’s trackers only while no record is known', async () => {
    const s = setup()
    const referral = { kind: 'refer' as const, trackers: ['ws://elsewhere:1/'] }
    expect(planTrackers(s.ctx, s.torrent, { referral })).toEqual(['ws://elsewhere:1/'])
    await s.view.read([ORIGIN])
    expect(planTrackers(s.ctx, s.torrent, { referral })).toEqual(s.owners().map(s.trackerOf))
  })
})

describe('readSources', () => {
  const all = () => true

  it('asks the origin first, then the referrer, then the owners named', () => {
    const reason: RehomeReason = {
      kind: 'referral',
      referral: { kind: 'refer', trackers: [tracker(1), tracker(2)] },
    }
    expect(readSources({ origin: ORIGIN }, [tracker(3), tracker(1)], reason, all)).toEqual([
      ORIGIN,
      relay(3),
      relay(1),
      relay(2),
    ])
  })

  it('after a failure asks the origin, then trackers still up', () => {
    const reason: RehomeReason = { kind: 'down', trackers: [tracker(1)] }
    expect(readSources({ origin: ORIGIN }, [tracker(1), tracker(2)], reason, all)).toEqual([
      ORIGIN,
      relay(2),
    ])
  })

  it('never asks a relay only a link or a referral named', () => {
    const reason: RehomeReason = {
      kind: 'referral',
      referral: { kind: 'refer', trackers: ['ws://evil.example/', tracker(2)] },
    }
    const known = (t: string) => t === tracker(2)
    expect(readSources({ origin: ORIGIN }, ['ws://link.example/'], reason, known)).toEqual([
      ORIGIN,
      relay(2),
    ])
  })
})

describe('TorrentHome', () => {
  it('follows a referral to the owners the page computes from the referrer’s records', async () => {
    const s = setup()
    expect(s.home.onWarning(`${REFERRAL_PREFIX}${tracker(1)} ${tracker(2)}`)).toBe(true)
    await settle()
    // The origin is asked first (here it is also the referrer).
    expect(s.reads).toEqual([`${ORIGIN}/v1/supernodes`])
    expect(s.torrent.trackers).toEqual(s.owners().map(s.trackerOf))
    expect(s.home.moves).toBe(1)
    expect(s.home.lastReason?.kind).toBe('referral')
  })

  it('reads a known supernode when the origin is down, and never one only a referral named', async () => {
    const answers: Record<string, SupernodeRecord[] | 'down'> = {}
    const s = setup(answers)
    await s.view.read([ORIGIN])
    answers[ORIGIN] = 'down'
    s.torrent.trackers = [tracker(3)]
    s.reads.length = 0
    await s.advance(2000)
    s.home.onWarning(`${REFERRAL_PREFIX}ws://evil.example/ ${tracker(1)}`)
    await settle()
    expect(s.reads).toEqual([`${ORIGIN}/v1/supernodes`, `${relay(3)}/v1/supernodes`])
    expect(s.torrent.trackers).toEqual(s.owners().map(s.trackerOf))
  })

  it('ignores warnings that are no referral', () => {
    const s = setup()
    expect(s.home.onWarning('Error connecting to ws://127.0.0.1:4001')).toBe(false)
    expect(s.home.onWarning(`${MOVED_PREFIX}http://evil.example/`)).toBe(false)
    expect(s.reads).toEqual([])
  })

  it('does not move when the owners are where it already announces', async () => {
    const s = setup()
    await s.view.read([ORIGIN])
    s.torrent.trackers = s.owners().map(s.trackerOf)
    s.home.onWarning(`${MOVED_PREFIX}${tracker(1)}`)
    await settle()
    expect(s.torrent.moves).toEqual([])
  })

  it('spaces attempts with doubling delays and never loops on a relay that keeps referring', async () => {
    // Every relay answers with only the origin's record: the page keeps computing the
    // origin as the owner, so a referral away from it can never be followed.
    const s = setup()
    const onlyOrigin = { [ORIGIN]: [s.records[0]] }
    const t = setup(onlyOrigin)
    const refer = `${REFERRAL_PREFIX}${tracker(1)}`
    for (let i = 0; i < 50; i++) t.home.onWarning(refer)
    await settle()
    expect(t.reads).toHaveLength(1)
    // Referrals every second for ten minutes: reads only as the backoff allows.
    for (let i = 0; i < 600; i++) {
      t.home.onWarning(refer)
      await t.advance(1000)
    }
    // 2 + 4 + 8 + … s up to 5 min: 8 attempts in 10 min, not 600.
    expect(t.reads.length).toBeGreaterThan(2)
    expect(t.reads.length).toBeLessThanOrEqual(10)
    expect(t.torrent.moves).toEqual([])
    expect(t.timers.length).toBeLessThanOrEqual(1)
  })

  it('passes a dead owner’s place to the next owner once its tracker stays down', async () => {
    const s = setup()
    await s.view.read([ORIGIN])
    const [first, second] = s.owners()
    s.torrent.trackers = [s.trackerOf(first), s.trackerOf(second)]
    const deadUrl = s.trackerOf(first).replace(/\/$/, '')
    s.home.onDown([deadUrl])
    await s.advance(DOWN_AFTER_MS - 1)
    s.home.onDown([deadUrl])
    expect(s.torrent.moves).toEqual([])
    await s.advance(1)
    s.home.onDown([deadUrl])
    await settle()
    expect(s.torrent.trackers).toEqual(s.owners([first]).map(s.trackerOf))
    expect(s.torrent.moves[0].reason.kind).toBe('down')
    expect(s.view.dead()).toEqual(new Set([first]))

    // A link that still names the dead tracker does not bring it back.
    const fromLink = [s.trackerOf(first)]
    expect(planTrackers(s.ctx, { infoHash: HASH, fromLink })).toEqual(
      s.owners([first]).map(s.trackerOf),
    )

    // Past DEAD_FOR_MS the page gives the dead node another chance.
    await s.advance(DEAD_FOR_MS)
    expect(s.view.dead()).toEqual(new Set())
  })

  it('keeps its trackers when every relay is down and no other is known', async () => {
    const s = setup({ [ORIGIN]: 'down' })
    s.home.onDown([ORIGIN_TRACKER])
    await s.advance(DOWN_AFTER_MS)
    s.home.onDown([ORIGIN_TRACKER])
    await settle()
    expect(s.torrent.trackers).toEqual([ORIGIN_TRACKER])
    expect(s.reads).toEqual([`${ORIGIN}/v1/supernodes`])
  })

  it('re-homes on news without reading again', async () => {
    const s = setup()
    await s.view.read([ORIGIN])
    s.reads.length = 0
    expect(await s.home.rehome({ kind: 'news' })).toBe(true)
    expect(s.reads).toEqual([])
    expect(s.torrent.trackers).toEqual(s.owners().map(s.trackerOf))
  })
})
