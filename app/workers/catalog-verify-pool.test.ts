import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { createListing, type Listing } from '../../shared/listing.ts'
import { sampleDraft as draft } from '../../relay/catalog/test-support.ts'
import { createListingBatch, identitySigner } from '../../shared/listing-batch.ts'
import { BodyTooLargeError } from '../../shared/capped-body.ts'
import { verifyListings } from '../catalog/verify.ts'
import {
  MAX_VERIFY_WORKERS,
  VerifyPool,
  answer,
  fromVerdicts,
  verifyWorkerCount,
  type VerifyPort,
  type VerifyRequest,
} from './catalog-verify-pool.ts'

const NOW = 1_764_115_200

const author = createIdentity()
const v1 = Array.from({ length: 6 }, (_, i) => createListing(draft(i), author, { seq: 1, ts: NOW }))
const v2 = createListingBatch(
  Array.from({ length: 9 }, (_, i) => draft(100 + i)),
  identitySigner(createIdentity()),
  { seq: 1, ts: NOW },
)

/** One byte of each changed: a forged name, a proof off by one hex digit, junk. */
function hostilePage(): unknown[] {
  const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1)
  return [
    v1[0],
    { ...v1[1], name: 'Sample release X' },
    v2[0],
    {
      ...v2[1],
      batch: {
        ...v2[1].batch!,
        proof: [flip(v2[1].batch!.proof[0]), ...v2[1].batch!.proof.slice(1)],
      },
    },
    v2[2],
    { ...v2[3], size: v2[3].size + 1 },
    null,
    'text',
    { ...v1[2], extra: 1 },
    v1[3],
    { ...v2[4], ts: NOW + 86_400 },
    v2[5],
  ]
}

type Replies = (request: VerifyRequest, send: (data: unknown) => void) => Promise<void>

/** A worker that sends one reply, `reply`'s. */
const once =
  (reply: (request: VerifyRequest) => Promise<unknown>): Replies =>
  async (request, send) =>
    send(await reply(request))

/** A worker in this thread: what the page posts is cloned, as postMessage would. */
class FakeVerifier implements VerifyPort {
  onmessage: ((event: MessageEvent) => void) | null = null
  onerror: ((event: ErrorEvent) => void) | null = null
  requests: VerifyRequest[] = []
  terminated = false
  constructor(readonly replies: Replies = answer) {}
  postMessage(message: VerifyRequest): void {
    const request = structuredClone(message)
    this.requests.push(request)
    void this.replies(request, (data) =>
      this.onmessage?.({ data: structuredClone(data) } as MessageEvent),
    )
  }
  terminate(): void {
    this.terminated = true
  }
}

function pool(size: number, make: () => FakeVerifier = () => new FakeVerifier()) {
  const ports: FakeVerifier[] = []
  const verifiers = new VerifyPool(() => {
    const port = make()
    ports.push(port)
    return port
  }, size)
  return { verifiers, ports }
}

const keys = (listings: Listing[]) => listings.map((l) => `${l.publisher}:${l.infoHash}`)

describe('VerifyPool', () => {
  it('answers as verifyListings does, with the forged, malformed and future ones refused', async () => {
    const { verifiers, ports } = pool(1)
    const page = hostilePage()
    const expected = await verifyListings(page, NOW)
    const got = await verifiers.verify(page, NOW)
    expect(ports[0].requests).toHaveLength(1)
    expect(got.invalid).toBe(expected.invalid)
    expect(got.invalid).toBe(7)
    expect(keys(got.listings)).toEqual(keys(expected.listings))
    expect(got.listings).toEqual(expected.listings)
  })

  it('sends a relay page as its text, and answers for the values parsed from it', async () => {
    const { verifiers, ports } = pool(1)
    const text = JSON.stringify({ listings: hostilePage(), next: 12, more: false })
    const values = (JSON.parse(text) as { listings: unknown[] }).listings
    const expected = await verifyListings(values, NOW)
    const got = await verifiers.verify(values, NOW, text)
    expect(ports[0].requests).toEqual([{ id: 1, text, nowSeconds: NOW }])
    expect(got.invalid).toBe(7)
    expect(got.listings).toEqual(expected.listings)
    // The good ones are the values given, not copies.
    expect(got.listings.every((l) => values.includes(l))).toBe(true)
  })

  it('verifies here when a text does not hold the values it came with', async () => {
    for (const text of ['{"listings":[]}', 'not json', '{"listings":{}}', 'null']) {
      const { verifiers, ports } = pool(1)
      const got = await verifiers.verify(hostilePage(), NOW, text)
      expect(got.invalid).toBe(7)
      expect(got.listings).toHaveLength(5)
      expect(ports[0].terminated).toBe(true)
    }
  })

  it('spreads pages over its workers, the least busy first, never more than its size', async () => {
    const { verifiers, ports } = pool(2)
    const answers = await Promise.all([
      verifiers.verify(v1, NOW),
      verifiers.verify(v2, NOW),
      verifiers.verify(hostilePage(), NOW),
    ])
    expect(ports).toHaveLength(2)
    expect(ports.map((p) => p.requests.length).sort()).toEqual([1, 2])
    expect(answers.map((a) => a.listings.length)).toEqual([v1.length, v2.length, 5])
  })

  it('verifies here what a failed worker held, and everything after', async () => {
    let fail: (() => void) | null = null
    const { verifiers, ports } = pool(1, () => {
      const port: FakeVerifier = new FakeVerifier(
        () =>
          new Promise<void>(() => {
            fail = () => port.onerror?.({} as ErrorEvent)
          }),
      )
      return port
    })
    const held = verifiers.verify(hostilePage(), NOW)
    await Promise.resolve()
    fail!()
    expect((await held).invalid).toBe(7)
    expect(ports[0].terminated).toBe(true)
    const after = await verifiers.verify(v1, NOW)
    expect(after.listings).toHaveLength(v1.length)
    expect(ports).toHaveLength(1)
  })

  it('takes no answer of the wrong shape: the page is verified here instead', async () => {
    const n = (r: VerifyRequest) => r.values!.length
    const wrong = [
      async (r: VerifyRequest) => ({ id: r.id, good: new Uint8Array(n(r) + 1).fill(1) }),
      async (r: VerifyRequest) => ({ id: r.id, good: Array(n(r)).fill(1) }),
      async (r: VerifyRequest) => ({ id: r.id + 1, good: new Uint8Array(n(r)).fill(1) }),
      async () => null,
    ]
    for (const reply of wrong) {
      const { verifiers, ports } = pool(1, () => new FakeVerifier(once(reply)))
      const got = await verifiers.verify(hostilePage(), NOW)
      expect(got.invalid).toBe(7)
      expect(ports[0].terminated).toBe(true)
    }
  })

  it('starts no worker for an empty page', async () => {
    const { verifiers, ports } = pool(1)
    expect(await verifiers.verify([], NOW, '{"listings":[]}')).toEqual({ listings: [], invalid: 0 })
    expect(ports).toHaveLength(0)
  })

  it('verifies here when no worker can be started', async () => {
    const verifiers = new VerifyPool(() => {
      throw new Error('no workers here')
    }, 2)
    expect((await verifiers.verify(hostilePage(), NOW)).invalid).toBe(7)
  })

  it('verifies here after close', async () => {
    const { verifiers, ports } = pool(1)
    await verifiers.verify(v1, NOW)
    verifiers.close()
    expect(ports[0].terminated).toBe(true)
    expect((await verifiers.verify(v2, NOW)).listings).toHaveLength(v2.length)
    expect(ports).toHaveLength(1)
  })
})

describe('VerifyPool.inflate', () => {
  const text = JSON.stringify({ listings: hostilePage(), next: 12, more: false })
  const gzip = new Uint8Array(gzipSync(text))
  const valuesOf = (t: string) => (JSON.parse(t) as { listings: unknown[] }).listings

  it('has a worker inflate a page and answer its text, then takes the verdicts it made', async () => {
    const { verifiers, ports } = pool(1)
    const got = await verifiers.inflate(gzip, 1 << 20, NOW)
    expect(got).toBe(text)
    const values = valuesOf(got)
    const verified = await verifiers.verify(values, NOW, got)
    // One request: the page in gzip. Its verify call sent nothing more.
    expect(ports[0].requests).toEqual([{ id: 1, gzip, maxBytes: 1 << 20, nowSeconds: NOW }])
    const expected = await verifyListings(values, NOW)
    expect(verified.invalid).toBe(7)
    expect(verified.listings).toEqual(expected.listings)
    expect(verified.listings.every((l) => values.includes(l))).toBe(true)
    // Taken once: the same text again is sent again.
    await verifiers.verify(values, NOW, got)
    expect(ports[0].requests).toHaveLength(2)
  })

  it('refuses a page over its cap once inflated, and one that is not gzip, keeping the worker', async () => {
    const { verifiers, ports } = pool(1)
    const bomb = new Uint8Array(gzipSync(' '.repeat(1 << 20)))
    await expect(verifiers.inflate(bomb, 1000, NOW)).rejects.toBeInstanceOf(BodyTooLargeError)
    await expect(verifiers.inflate(new Uint8Array([1, 2, 3]), 1000, NOW)).rejects.toThrow()
    expect(ports[0].terminated).toBe(false)
    expect(await verifiers.inflate(gzip, 1 << 20, NOW)).toBe(text)
  })

  it('verifies again, here or in a worker, what its verdicts do not fit', async () => {
    const { verifiers, ports } = pool(1)
    // Asked two minutes on: verdicts made at NOW are not taken.
    const later = await verifiers.inflate(gzip, 1 << 20, NOW)
    const verified = await verifiers.verify(valuesOf(later), NOW + 120, later)
    expect(verified.invalid).toBe(7)
    expect(ports[0].requests.map((r) => r.nowSeconds)).toEqual([NOW, NOW + 120])
    // Values that are not the page's: verified here.
    const other = await verifiers.inflate(gzip, 1 << 20, NOW)
    expect((await verifiers.verify(v1, NOW, other)).listings).toHaveLength(v1.length)
    expect(ports[0].requests).toHaveLength(3)
  })

  it('keeps the verdicts of the last few texts only, for a short while', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const { verifiers, ports } = pool(1)
      const texts: string[] = []
      for (let i = 0; i < 5; i++) {
        const page = JSON.stringify({ listings: hostilePage(), next: i })
        texts.push(await verifiers.inflate(new Uint8Array(gzipSync(page)), 1 << 20, NOW))
      }
      // The first was pushed out by four newer: sent again. The last is taken.
      await verifiers.verify(valuesOf(texts[0]), NOW, texts[0])
      expect(ports[0].requests).toHaveLength(6)
      await verifiers.verify(valuesOf(texts[4]), NOW, texts[4])
      expect(ports[0].requests).toHaveLength(6)
      // No timer of the two that went holds its text on.
      expect(vi.getTimerCount()).toBe(3)
      // The others expire.
      vi.advanceTimersByTime(5000)
      await verifiers.verify(valuesOf(texts[3]), NOW, texts[3])
      expect(ports[0].requests).toHaveLength(7)
    } finally {
      vi.useRealTimers()
    }
  })

  it('inflates and verifies here what a worker held when it failed', async () => {
    for (const failAfterText of [false, true]) {
      let fail: (() => void) | null = null
      const { verifiers, ports } = pool(1, () => {
        const port: FakeVerifier = new FakeVerifier(async (request, send) => {
          if (failAfterText) send({ id: request.id, text })
          fail = () => port.onerror?.({} as ErrorEvent)
          await new Promise(() => {})
        })
        return port
      })
      const inflating = verifiers.inflate(gzip, 1 << 20, NOW)
      if (failAfterText) {
        const got = await inflating
        const verifying = verifiers.verify(valuesOf(got), NOW, got)
        fail!()
        expect((await verifying).invalid).toBe(7)
      } else {
        await new Promise((resolve) => setTimeout(resolve, 0))
        fail!()
        const got = await inflating
        expect(got).toBe(text)
        expect((await verifiers.verify(valuesOf(got), NOW, got)).invalid).toBe(7)
      }
      expect(ports[0].terminated).toBe(true)
      expect(ports).toHaveLength(1)
    }
  })

  it('inflates here when there is no worker', async () => {
    const verifiers = new VerifyPool(() => {
      throw new Error('no workers here')
    }, 1)
    expect(await verifiers.inflate(gzip, 1 << 20, NOW)).toBe(text)
    await expect(verifiers.inflate(gzip, 100, NOW)).rejects.toBeInstanceOf(BodyTooLargeError)
  })
})

describe('verifyWorkerCount', () => {
  it('leaves a core to the catalog worker, and keeps the cap', () => {
    expect(verifyWorkerCount(undefined)).toBe(0)
    expect(verifyWorkerCount(1)).toBe(0)
    expect(verifyWorkerCount(2)).toBe(1)
    expect(verifyWorkerCount(3)).toBe(2)
    expect(verifyWorkerCount(4)).toBe(2)
    expect(verifyWorkerCount(64)).toBe(MAX_VERIFY_WORKERS)
  })
})

describe('fromVerdicts', () => {
  it('keeps exactly the values marked good, in order, and counts the rest', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 50 }), (marks) => {
        const values = marks.map((_, i) => ({ i }))
        const got = fromVerdicts(
          values,
          Uint8Array.from(marks, (m) => (m ? 1 : 0)),
        )
        expect(got.listings).toEqual(values.filter((_, i) => marks[i]))
        expect(got.invalid).toBe(marks.filter((m) => !m).length)
      }),
    )
  })
})
