// One suite of swarm semantics run against every tracker transport of a real relay (HTTP,
// BEP 3/23/48; WebSocket, the WebTorrent tracker protocol): both front ends sit on one core
// (relay/tracker/tracker.ts), so a peer must see the same swarm through either. Call
// `trackerContract` once per transport, as bittorrent-tracker's tests loop over theirs.

import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ScrapeCounts } from './tracker-wire.ts'

export interface ContractAnnounce {
  infoHash: Uint8Array
  /** Bytes still wanted: 0 for a seeder. */
  left: number
  event?: 'started' | 'stopped' | 'completed'
  numwant?: number
  /** Sent instead of the peer's own id (bad-input tests). */
  peerId?: Uint8Array
}

export interface ContractAnswer {
  /** The failure reason, when the announce was refused. */
  failure?: string
  complete?: number
  incomplete?: number
  /** The test peers this announce was put in touch with: the peers listed in an HTTP
   * answer, the sockets a WebSocket announce's offers were forwarded to. */
  peers: number[]
}

/** One transport of a running relay, driving test peers known by number. */
export interface TrackerTransport {
  announce(peer: number, req: ContractAnnounce): Promise<ContractAnswer>
  /** BEP 48 counts by info hash in hex. */
  scrape(infoHashes: Uint8Array[]): Promise<Map<string, ScrapeCounts>>
  close(): Promise<void>
}

/** The 20-byte id of test peer `n`, the same over every transport. */
export function contractPeerId(n: number): Uint8Array {
  const id = new Uint8Array(createHash('sha1').update(`peer ${n}`).digest())
  id[0] = 0xff // not valid UTF-8: an id must survive as bytes, not as text
  return id
}

export function trackerContract(name: string, open: () => Promise<TrackerTransport>): void {
  describe(`${name}: the tracker contract`, () => {
    let t: TrackerTransport
    beforeAll(async () => {
      t = await open()
    })
    afterAll(() => t?.close())

    // Hashes of their own per transport: both transports reach one swarm per hash.
    const hash = (label: string) =>
      new Uint8Array(createHash('sha1').update(`${name} ${label}`).digest())
    const hex = (h: Uint8Array) => Buffer.from(h).toString('hex')
    const sorted = (a: ContractAnswer) => [...a.peers].sort((x, y) => x - y)
    const counts = async (h: Uint8Array) => (await t.scrape([h])).get(hex(h))

    it('introduces leechers to seeders and each other, and counts a download', async () => {
      const h = hash('download')
      const seeder = await t.announce(1, { infoHash: h, left: 0, event: 'started' })
      expect(seeder).toMatchObject({ complete: 1, incomplete: 0, peers: [] })
      const first = await t.announce(2, { infoHash: h, left: 100, event: 'started' })
      expect(first).toMatchObject({ complete: 1, incomplete: 1 })
      expect(sorted(first)).toEqual([1])
      const second = await t.announce(3, { infoHash: h, left: 100, event: 'started' })
      expect(second).toMatchObject({ complete: 1, incomplete: 2 })
      expect(sorted(second)).toEqual([1, 2])
      // A seeder is given leechers only.
      expect(sorted(await t.announce(1, { infoHash: h, left: 0 }))).toEqual([2, 3])
      expect(await counts(h)).toEqual({ complete: 1, incomplete: 2, downloaded: 0 })

      await t.announce(2, { infoHash: h, left: 0, event: 'completed' })
      expect(await counts(h)).toEqual({ complete: 2, incomplete: 1, downloaded: 1 })
    })

    it('forgets a stopped peer at once', async () => {
      const h = hash('stopped')
      await t.announce(1, { infoHash: h, left: 0, event: 'started' })
      await t.announce(2, { infoHash: h, left: 100, event: 'started' })
      const stopped = await t.announce(1, { infoHash: h, left: 0, event: 'stopped' })
      expect(stopped.failure).toBeUndefined()
      expect(stopped.peers).toEqual([])
      const after = await t.announce(3, { infoHash: h, left: 100, event: 'started' })
      expect(after).toMatchObject({ complete: 0, incomplete: 2 })
      expect(sorted(after)).toEqual([2])
      expect(await counts(h)).toEqual({ complete: 0, incomplete: 2, downloaded: 0 })
    })

    it('gives at most numwant peers, and counts every one', async () => {
      const h = hash('numwant')
      for (let n = 1; n <= 5; n++) await t.announce(n, { infoHash: h, left: 100 })
      const two = await t.announce(6, { infoHash: h, left: 100, numwant: 2 })
      expect(two).toMatchObject({ complete: 0, incomplete: 6 })
      expect(two.peers).toHaveLength(2)
      expect(new Set(two.peers).size).toBe(2)
      for (const peer of two.peers) expect([1, 2, 3, 4, 5]).toContain(peer)
      expect(await t.announce(6, { infoHash: h, left: 100, numwant: 0 })).toMatchObject({
        incomplete: 6,
        peers: [],
      })
    })

    it('refuses ids that are not 20 bytes with a failure reason, and stores nothing', async () => {
      const h = hash('refused')
      for (const infoHash of [h.subarray(0, 19), new Uint8Array(21)]) {
        const answer = await t.announce(1, { infoHash, left: 0 })
        expect(answer.failure).toBe('invalid info_hash: must be 20 bytes')
      }
      const badPeer = await t.announce(1, { infoHash: h, left: 0, peerId: new Uint8Array(19) })
      expect(badPeer.failure).toBe('invalid peer_id: must be 20 bytes')
      expect(await counts(h)).toEqual({ complete: 0, incomplete: 0, downloaded: 0 })
      // The transport still serves the same peer afterwards.
      expect(await t.announce(1, { infoHash: h, left: 0 })).toMatchObject({ complete: 1 })
    })

    it('scrapes several hashes at once, unknown ones as empty', async () => {
      const known = hash('scrape')
      const unknown = hash('never announced')
      await t.announce(1, { infoHash: known, left: 0 })
      const files = await t.scrape([known, unknown])
      expect(files.get(hex(known))).toEqual({ complete: 1, incomplete: 0, downloaded: 0 })
      expect(files.get(hex(unknown))).toEqual({ complete: 0, incomplete: 0, downloaded: 0 })
    })
  })
}
