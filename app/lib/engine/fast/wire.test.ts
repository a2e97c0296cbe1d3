// The wire patches on real bittorrent-protocol wires (the version WebTorrent 3.0.21 bundles),
// joined back to back in memory: what the peer receives is BEP 3 as before, requests merge
// only when both sides advertise it, and every block asked for is answered with its bytes.
import { describe, expect, it } from 'vitest'
import Wire from 'bittorrent-protocol'
import type { WireInternals } from '../internals.ts'
import { BLOCK_BYTES, HANDSHAKE_KEY, mergeRequests } from './requests.ts'
import { batchBuffers, batchWire, deepenChannel, skipRedundantHaves } from './wire.ts'
import type { SimplePeerInternals } from '../internals.ts'

const INFO_HASH = '01'.repeat(20)
const PIECE = 8 * BLOCK_BYTES

type W = WireInternals & {
  handshake(infoHash: string, peerId: string, ext?: object): void
  unchoke(): void
  request(i: number, o: number, l: number, cb: (err: Error | null, b?: Uint8Array) => void): void
  piece(i: number, o: number, b: Uint8Array): void
  have(i: number): void
  pipe(w: W): W
  destroy(): void
}

/** Two wires joined back to back; `ours` gets the patches, `theirs` too when `bothOurs`. */
function pair(bothOurs: boolean) {
  const ours = new Wire() as unknown as W
  const theirs = new Wire() as unknown as W
  ours.pipe(theirs).pipe(ours)
  const asked: number[] = []
  theirs.on('request', ((
    i: number,
    o: number,
    l: number,
    respond: (e: null, b: Uint8Array) => void,
  ) => {
    asked.push(l)
    const block = new Uint8Array(l)
    for (let k = 0; k < l; k++) block[k] = (i * PIECE + o + k) % 251
    respond(null, block)
  }) as never)
  const setup = (w: W) => {
    expect(batchWire(w)).toBe(true)
    expect(mergeRequests(w)).toBe(true)
  }
  // As on the torrent's 'wire' event: on the peer's handshake, before the extended one.
  ours.once('handshake', () => setup(ours))
  if (bothOurs) theirs.once('handshake', () => setup(theirs))
  theirs.once('handshake', () => {
    theirs.handshake(INFO_HASH, 'b'.repeat(40))
    theirs.unchoke()
  })
  ours.handshake(INFO_HASH, 'a'.repeat(40))
  const ready = new Promise<void>((resolve) => ours.once('unchoke', () => resolve()))
  const extended = new Promise<unknown>((resolve) =>
    ours.on(
      'extended',
      ((ext: string, info: unknown) => ext === 'handshake' && resolve(info)) as never,
    ),
  )
  return { ours, theirs, asked, ready, extended }
}

/** Asks for blocks [from, to) of piece 0 in one tick; resolves with each answer. */
function fetch(w: W, from: number, to: number): Promise<Uint8Array[]> {
  const all: Promise<Uint8Array>[] = []
  for (let n = from; n < to; n++) {
    all.push(
      new Promise((resolve, reject) =>
        w.request(0, n * BLOCK_BYTES, BLOCK_BYTES, (err, buf) =>
          err ? reject(err) : resolve(buf!),
        ),
      ),
    )
  }
  return Promise.all(all)
}

const expected = (n: number) =>
  Uint8Array.from({ length: BLOCK_BYTES }, (_, k) => (n * BLOCK_BYTES + k) % 251)

describe('fast wire patches on bittorrent-protocol', () => {
  it(
    'merges block requests with a peer that advertises it, and cuts the answer back',
    { timeout: 20_000 },
    async () => {
      const { ours, theirs, asked, ready, extended } = pair(true)
      expect(((await extended) as Record<string, unknown>)[HANDSHAKE_KEY]).toBe(128 * 1024)
      await ready
      const got = await fetch(ours, 0, 8)
      got.forEach((buf, n) => expect(buf).toEqual(expected(n)))
      expect(asked).toEqual([8 * BLOCK_BYTES])
      expect(ours.requests.length).toBe(0)
      ours.destroy()
      theirs.destroy()
    },
  )

  it('sends a stock peer only 16 KiB requests', { timeout: 20_000 }, async () => {
    const { ours, theirs, asked, ready, extended } = pair(false)
    expect(await extended).not.toHaveProperty(HANDSHAKE_KEY)
    await ready
    const got = await fetch(ours, 0, 8)
    got.forEach((buf, n) => expect(buf).toEqual(expected(n)))
    expect(asked).toEqual(Array(8).fill(BLOCK_BYTES))
    ours.destroy()
    theirs.destroy()
  })

  it('sends the control messages of one task together, at the next task', async () => {
    const { ours, theirs, ready } = pair(true)
    await ready
    await new Promise((r) => setTimeout(r, 10)) // the handshakes' own batches
    const pushed: number[] = []
    const push = ours.push.bind(ours)
    ours.push = (data) => {
      if (data) pushed.push(data.length)
      return push(data)
    }
    const haves: number[] = []
    theirs.on('have', ((i: number) => haves.push(i)) as never)
    ours.have(1)
    await Promise.resolve()
    ours.have(2)
    await Promise.resolve()
    expect(pushed).toEqual([])
    await new Promise((r) => setTimeout(r, 0))
    // One data-channel message: two 9-byte BEP 3 haves.
    expect(pushed).toEqual([18])
    await new Promise((r) => setTimeout(r, 10))
    expect(haves).toEqual([1, 2])
    // Piece data does not wait for a task: it goes at the end of this one.
    ours.piece(0, 0, new Uint8Array(BLOCK_BYTES))
    await Promise.resolve()
    expect(pushed).toEqual([18, 13 + BLOCK_BYTES])
    ours.destroy()
    theirs.destroy()
  })

  it('leaves out haves for pieces the peer has', async () => {
    const { ours, theirs, ready } = pair(true)
    await ready
    expect(skipRedundantHaves(ours)).toBe(true)
    const theirHave = new Promise((r) => ours.once('have', r as never))
    theirs.have(3)
    await theirHave
    const haves: number[] = []
    theirs.on('have', ((i: number) => haves.push(i)) as never)
    ours.have(3)
    ours.have(4)
    await new Promise((r) => setTimeout(r, 20))
    expect(haves).toEqual([4])
    ours.destroy()
    theirs.destroy()
  })
})

/** simple-peer lite's write path (its _write, 3.0.21's bundle), over a channel that copies
 * what it is sent, as RTCDataChannel.send() does. */
function fakePeer(connected: boolean) {
  const sent: Uint8Array[] = []
  const channel = { bufferedAmount: 0, bufferedAmountLowThreshold: 0 }
  const peer = {
    destroyed: false,
    _connected: connected,
    _channel: channel as unknown as RTCDataChannel,
    _cb: null as ((err: Error | null) => void) | null,
    _chunk: null as Uint8Array | null,
    _write(chunk: Uint8Array, cb: (err: Error | null) => void) {
      if (this._connected) {
        sent.push(chunk.slice())
        if (channel.bufferedAmount > 64 * 1024) this._cb = cb
        else cb(null)
      } else {
        this._chunk = chunk
        this._cb = cb
      }
    },
  }
  return { peer: peer as SimplePeerInternals & typeof peer, sent }
}

describe('deepenChannel', () => {
  it('gives a batch buffer back once the channel has its bytes, not while a peer holds it', () => {
    const { peer, sent } = fakePeer(true)
    expect(deepenChannel(peer)).toBe(true)
    const before = batchBuffers.size
    const batch = batchBuffers
      .take(256 * 1024)
      .subarray(0, 1000)
      .fill(3)
    peer._write(batch, () => {})
    expect(sent[0]).toEqual(new Uint8Array(1000).fill(3))
    expect(batchBuffers.size).toBe(before + 256 * 1024)
    expect(batchBuffers.take(256 * 1024).buffer).toBe(batch.buffer)

    const waiting = fakePeer(false)
    deepenChannel(waiting.peer)
    const held = batchBuffers.take(256 * 1024).subarray(0, 10)
    waiting.peer._write(held, () => {})
    expect(waiting.peer._chunk).toBe(held)
    expect(batchBuffers.size).toBe(before)
  })

  it('leaves a peer of another shape alone', () => {
    const { peer } = fakePeer(true)
    delete (peer as Partial<typeof peer>)._chunk
    expect(deepenChannel(peer)).toBe(false)
  })
})
