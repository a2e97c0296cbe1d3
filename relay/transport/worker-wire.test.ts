import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  Batcher,
  FrameReader,
  MAX_FRAME_BYTES,
  WorkerWireError,
  decodeAsks,
  decodeReplies,
  encodeAsks,
  encodeReplies,
  type TrackerAsk,
  type TrackerReply,
} from './worker-wire.ts'

const u32 = fc.integer({ min: 0, max: 0xffffffff })
const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant(''))
const ask: fc.Arbitrary<TrackerAsk> = fc.record({
  id: u32,
  remoteAddress: address,
  bytes: fc.uint8Array({ maxLength: 600 }),
})
const reply: fc.Arbitrary<TrackerReply> = fc.record({
  id: u32,
  outcome: fc.constantFrom('answered', 'declined', 'failed'),
  keepAlive: fc.boolean(),
  response: fc.uint8Array({ maxLength: 600 }),
})

/** The batches in `stream`, read in chunks cut at `cuts`. */
function readInChunks(stream: Buffer, cuts: number[]): Buffer[] {
  const reader = new FrameReader()
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let from = 0
  for (const to of [...points, stream.length]) {
    out.push(...reader.push(stream.subarray(from, to)))
    from = to
  }
  expect(reader.held).toBe(0)
  return out
}

const plain = <T extends { bytes?: Uint8Array; response?: Uint8Array }>(x: T) => ({
  ...x,
  ...(x.bytes && { bytes: [...x.bytes] }),
  ...(x.response && { response: [...x.response] }),
})

/** Batches of `item` survive encode, any cutting of the stream into reads, and decode. */
function roundTrips<T extends { bytes?: Uint8Array; response?: Uint8Array }>(
  item: fc.Arbitrary<T>,
  encode: (batch: T[]) => Buffer,
  decode: (batch: Buffer) => T[],
) {
  fc.assert(
    fc.property(
      fc.array(fc.array(item, { maxLength: 8 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (batches, cuts) => {
        const stream = Buffer.concat(batches.map(encode))
        const read = readInChunks(stream, cuts).map((b) => decode(b).map(plain))
        expect(read).toEqual(batches.map((b) => b.map(plain)))
      },
    ),
  )
}

describe('asks and replies', () => {
  it('round-trip any batch, however the stream is cut into reads', () => {
    roundTrips(ask, encodeAsks, decodeAsks)
    roundTrips(reply, encodeReplies, decodeReplies)
  })

  it('refuses a batch cut short or with bytes after it', () => {
    fc.assert(
      fc.property(fc.array(ask, { minLength: 1, maxLength: 4 }), fc.nat(), (asks, cut) => {
        const body = encodeAsks(asks).subarray(4)
        const short = body.subarray(0, cut % body.length)
        expect(() => decodeAsks(short)).toThrow(WorkerWireError)
        expect(() => decodeAsks(Buffer.concat([body, Buffer.of(0)]))).toThrow(WorkerWireError)
      }),
    )
    const body = encodeReplies([
      { id: 1, outcome: 'answered', keepAlive: true, response: new Uint8Array(3) },
    ])
    expect(() => decodeReplies(body.subarray(4, body.length - 1))).toThrow(WorkerWireError)
  })

  it('refuses reply flags it does not know', () => {
    const body = encodeReplies([
      { id: 7, outcome: 'failed', keepAlive: false, response: new Uint8Array() },
    ])
    body[4 + 4 + 4] = 0xff
    expect(() => decodeReplies(body.subarray(4))).toThrow(/flags/)
  })

  it('refuses an address no socket has', () => {
    const remoteAddress = 'x'.repeat(256)
    expect(() => encodeAsks([{ id: 1, remoteAddress, bytes: new Uint8Array() }])).toThrow(
      RangeError,
    )
  })

  it('refuses a frame over MAX_FRAME_BYTES without waiting for it', () => {
    const head = Buffer.alloc(4)
    head.writeUInt32BE(MAX_FRAME_BYTES + 1)
    expect(() => new FrameReader().push(head)).toThrow(WorkerWireError)
  })
})

describe('Batcher', () => {
  it('hands on every item once, in order, in batches of at most maxItems', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer(), fc.constant('turn' as const)), { maxLength: 200 }),
        fc.integer({ min: 1, max: 16 }),
        (steps, maxItems) => {
          const batches: number[][] = []
          let scheduled: (() => void)[] = []
          const batcher = new Batcher<number>(
            (b) => batches.push(b),
            maxItems,
            (run) => {
              scheduled.push(run)
            },
          )
          const added: number[] = []
          for (const step of steps) {
            if (step === 'turn') {
              const runs = scheduled
              scheduled = []
              runs.forEach((run) => run())
            } else {
              added.push(step)
              batcher.add(step)
            }
          }
          scheduled.forEach((run) => run())
          expect(batches.flat()).toEqual(added)
          for (const b of batches) {
            expect(b.length).toBeGreaterThan(0)
            expect(b.length).toBeLessThanOrEqual(maxItems)
          }
          // One turn of the loop between adds gathers them all into one batch.
          if (!steps.includes('turn') && added.length <= maxItems && added.length > 0) {
            expect(batches).toHaveLength(1)
          }
        },
      ),
    )
  })

  it('refuses a batch size that is not a positive integer', () => {
    expect(() => new Batcher(() => {}, 0)).toThrow(RangeError)
  })
})
