import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { createListing, type Listing } from '../../shared/listing.ts'
import { sampleDraft as draft } from '../../relay/catalog/test-support.ts'
import { createListingBatch, identitySigner } from '../../shared/listing-batch.ts'
import { verifyListings } from '../catalog/verify.ts'
import {
  MAX_VERIFY_WORKERS,
  VerifyPool,
  fromVerdicts,
  verdicts,
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

/** A worker in this thread: what the page posts is cloned, as postMessage would. */
class FakeVerifier implements VerifyPort {
  onmessage: ((event: MessageEvent) => void) | null = null
  onerror: ((event: ErrorEvent) => void) | null = null
  requests: VerifyRequest[] = []
  terminated = false
  constructor(readonly answer: (request: VerifyRequest) => Promise<unknown> = verdicts) {}
  postMessage(message: VerifyRequest): void {
    const request = structuredClone(message)
    this.requests.push(request)
    void this.answer(request).then((data) => this.onmessage?.({ data } as MessageEvent))
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
          new Promise(() => {
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
    for (const answer of wrong) {
      const { verifiers, ports } = pool(1, () => new FakeVerifier(answer))
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
