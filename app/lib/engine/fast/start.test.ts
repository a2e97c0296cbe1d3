// The bounded start (start.ts) on real bittorrent-protocol wires joined back to back: the
// uploader's extended handshake carries BEP 10's `reqq`, and a second handshake without it
// follows the first dropped packet its connection's stats show, or the time limit.
import { describe, expect, it } from 'vitest'
import Wire from 'bittorrent-protocol'
import type { SimplePeerInternals, WireInternals } from '../internals.ts'
import { BLOCK_BYTES, HANDSHAKE_KEY, mergeRequests } from './requests.ts'
import { START_REQQ, boundStart, discardedOnSend, type StartEnd } from './start.ts'
import { batchWire } from './wire.ts'

const INFO_HASH = '02'.repeat(20)

type W = WireInternals & {
  extendedHandshake: Record<string, unknown>
  peerExtendedHandshake: Record<string, unknown>
  handshake(infoHash: string, peerId: string): void
  unchoke(): void
  request(i: number, o: number, l: number, cb: (err: Error | null, b?: Uint8Array) => void): void
  pipe(w: W): W
  emit(event: string, ...args: unknown[]): boolean
  destroy(): void
}

/** A simple-peer's stand-in: only its RTCPeerConnection's getStats(), as Chromium reports a
 * candidate pair (and other entries that must be ignored). */
function fakeConn(stats: () => Promise<Map<string, Record<string, unknown>>>) {
  return { destroyed: false, _pc: { getStats: stats } } as unknown as SimplePeerInternals & {
    destroyed: boolean
  }
}

const report = (dropped: number | undefined) =>
  new Map<string, Record<string, unknown>>([
    ['CP1', { type: 'candidate-pair', packetsDiscardedOnSend: dropped }],
    ['CP2', { type: 'candidate-pair', state: 'waiting', packetsDiscardedOnSend: 0 }],
    ['T01', { type: 'transport', packetsDiscardedOnSend: 99 }],
  ])

/** `uploader` bounds its start (and, with `ours`, merges requests as our client does);
 * `downloader` asks it for blocks. Every extended handshake the downloader gets is kept. */
function pair(conn: SimplePeerInternals, opts: { maxMs?: number; ours?: boolean } = {}) {
  const downloader = new Wire() as unknown as W
  const uploader = new Wire() as unknown as W
  downloader.pipe(uploader).pipe(downloader)
  uploader.on('request', ((
    _i: number,
    _o: number,
    l: number,
    respond: (e: null, b: Uint8Array) => void,
  ) => respond(null, new Uint8Array(l).fill(7))) as never)
  const handshakes: Record<string, unknown>[] = []
  downloader.on('extended', ((ext: string, info: Record<string, unknown>) => {
    if (ext === 'handshake') handshakes.push(info)
  }) as never)
  let ended: (end: StartEnd) => void = () => {}
  const end = new Promise<StartEnd>((resolve) => (ended = resolve))
  uploader.once('handshake', () => {
    if (opts.ours) {
      batchWire(uploader)
      mergeRequests(uploader)
    }
    expect(boundStart(uploader, conn, { maxMs: opts.maxMs, pollMs: 5, done: ended })).toBe(true)
    uploader.handshake(INFO_HASH, 'c'.repeat(40))
    uploader.unchoke()
  })
  downloader.once('handshake', () => {
    if (opts.ours) {
      batchWire(downloader)
      mergeRequests(downloader)
    }
  })
  downloader.handshake(INFO_HASH, 'd'.repeat(40))
  const unchoked = new Promise<void>((resolve) => downloader.once('unchoke', () => resolve()))
  return { downloader, uploader, handshakes, end, unchoked }
}

function fetch(w: W, blocks: number): Promise<Uint8Array[]> {
  return Promise.all(
    Array.from(
      { length: blocks },
      (_, n) =>
        new Promise<Uint8Array>((resolve, reject) =>
          w.request(0, n * BLOCK_BYTES, BLOCK_BYTES, (err, buf) =>
            err ? reject(err) : resolve(buf!),
          ),
        ),
    ),
  )
}

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 5))
  expect(ok()).toBe(true)
}

describe('boundStart', () => {
  it('bounds the peer to START_REQQ requests until a packet is dropped, then lifts it', async () => {
    let dropped = 0
    const { downloader, uploader, handshakes, end, unchoked } = pair(
      fakeConn(async () => report(dropped)),
      { maxMs: 60_000 },
    )
    await unchoked
    await until(() => handshakes.length === 1)
    expect(handshakes[0]!.reqq).toBe(START_REQQ)
    // Nothing is polled before the first upload; once uploading, no drop: still bounded.
    await fetch(downloader, 2)
    await new Promise((r) => setTimeout(r, 30))
    expect(handshakes.length).toBe(1)
    dropped = 3
    expect(await end).toBe('dropped')
    await until(() => handshakes.length === 2)
    // The second handshake says all the first did (its extensions), without the bound.
    expect(handshakes[1]).not.toHaveProperty('reqq')
    expect(handshakes[1]!.m).toEqual(handshakes[0]!.m)
    expect(downloader.peerExtendedHandshake).not.toHaveProperty('reqq')
    expect(uploader.extendedHandshake).not.toHaveProperty('reqq')
    downloader.destroy()
    uploader.destroy()
  })

  it('lifts the bound after maxMs of uploading without a drop', async () => {
    const { downloader, uploader, handshakes, end, unchoked } = pair(
      fakeConn(async () => report(0)),
      { maxMs: 40 },
    )
    await unchoked
    await fetch(downloader, 1)
    expect(await end).toBe('timeout')
    await until(() => handshakes.length === 2)
    expect(handshakes[1]).not.toHaveProperty('reqq')
    downloader.destroy()
    uploader.destroy()
  })

  it('lifts the bound when the stats cannot be read', async () => {
    const { downloader, uploader, handshakes, end, unchoked } = pair(
      fakeConn(() => Promise.reject(new Error('closed'))),
    )
    await unchoked
    await fetch(downloader, 1)
    expect(await end).toBe('no-stats')
    await until(() => handshakes.length === 2)
    downloader.destroy()
    uploader.destroy()
  })

  it('keeps a smaller reqq of our own, and gives it back after', async () => {
    const conn = fakeConn(async () => report(1))
    const wire = new Wire() as unknown as W
    wire.extendedHandshake.reqq = 16
    expect(boundStart(wire, conn)).toBe(true)
    expect(wire.extendedHandshake.reqq).toBe(16)
    const larger = new Wire() as unknown as W
    larger.extendedHandshake.reqq = 4096
    let ended: StartEnd | null = null
    expect(boundStart(larger, conn, { pollMs: 1, done: (e) => (ended = e) })).toBe(true)
    expect(larger.extendedHandshake.reqq).toBe(START_REQQ)
    larger.emit('upload', BLOCK_BYTES)
    await until(() => ended !== null)
    expect(ended).toBe('dropped')
    expect(larger.extendedHandshake.reqq).toBe(4096)
    wire.destroy()
    larger.destroy()
  })

  it('stops when the wire closes, sending nothing more', async () => {
    let polls = 0
    const { downloader, uploader, handshakes, end, unchoked } = pair(
      fakeConn(async () => {
        polls++
        return report(0)
      }),
      { maxMs: 60_000 },
    )
    await unchoked
    await fetch(downloader, 1)
    uploader.destroy()
    expect(await end).toBe('closed')
    const at = polls
    await new Promise((r) => setTimeout(r, 30))
    expect(polls).toBeLessThanOrEqual(at + 1)
    expect(handshakes.length).toBe(1)
    downloader.destroy()
  })

  it('leaves a wire alone without stats or an extended handshake to send', () => {
    const wire = new Wire() as unknown as W
    const conn = fakeConn(async () => report(0))
    expect(boundStart(wire, { destroyed: false } as unknown as SimplePeerInternals)).toBe(false)
    expect(boundStart(wire, conn)).toBe(true)
    const odd = { ...wire, _sendExtendedHandshake: undefined } as unknown as W
    expect(boundStart(odd, conn)).toBe(false)
    wire.destroy()
  })

  it('between two of our peers: requests stay merged across the second handshake', async () => {
    let dropped = 0
    const { downloader, uploader, handshakes, end, unchoked } = pair(
      fakeConn(async () => report(dropped)),
      { ours: true, maxMs: 60_000 },
    )
    await unchoked
    await until(() => handshakes.length === 1)
    expect(handshakes[0]![HANDSHAKE_KEY]).toBe(128 * 1024)
    await fetch(downloader, 8)
    dropped = 1
    expect(await end).toBe('dropped')
    await until(() => handshakes.length === 2)
    const asked: number[] = []
    uploader.on('request', ((_i: number, _o: number, l: number) => asked.push(l)) as never)
    const got = await fetch(downloader, 8)
    expect(got.every((b) => b.length === BLOCK_BYTES)).toBe(true)
    expect(asked).toEqual([8 * BLOCK_BYTES])
    downloader.destroy()
    uploader.destroy()
  })
})

describe('discardedOnSend', () => {
  it('adds up the candidate pairs, and nothing else', async () => {
    const pc = { getStats: async () => report(5) }
    expect(await discardedOnSend(pc)).toBe(5)
    expect(await discardedOnSend({ getStats: async () => report(undefined) })).toBe(0)
    const odd = new Map([['x', { type: 'candidate-pair', packetsDiscardedOnSend: 'many' }]])
    expect(await discardedOnSend({ getStats: async () => odd })).toBe(0)
  })
})
