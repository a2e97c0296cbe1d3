import bencode from 'bencode'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeMeshMessage,
  encodeMeshMessage,
  MAX_MESH_MESSAGE_BYTES,
  MAX_MESH_PEER_IDS,
  MeshMessageError,
  type MeshMessage,
} from './messages.ts'

const hex40 = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''))
const idList = fc.array(hex40, { maxLength: MAX_MESH_PEER_IDS })
const query = fc.nat({ max: 0xffffffff })
const kind = fc.constantFrom('listings' as const, 'supernodes' as const, 'hosts' as const)

const message: fc.Arbitrary<MeshMessage> = fc.oneof(
  fc.record({ t: fc.constant('pex' as const), added: idList, dropped: idList }),
  fc.record({
    t: fc.constant('sig' as const),
    to: hex40,
    from: hex40,
    infoHash: hex40,
    hops: fc.integer({ min: 0, max: 2 }),
    kind: fc.constantFrom('offer' as const, 'answer' as const),
    sdp: fc.string({ maxLength: 2000 }),
  }),
  fc.record({ t: fc.constant('who' as const), query, infoHash: hex40 }),
  fc.record(
    {
      t: fc.constant('has' as const),
      query,
      infoHash: hex40,
      peers: idList,
      referral: fc.record(
        { peer: hex40, relay: fc.webUrl({ size: 'small' }) },
        { requiredKeys: ['peer'] },
      ),
    },
    { requiredKeys: ['t', 'query', 'infoHash', 'peers'] },
  ),
  fc.record({ t: fc.constant('pull' as const), query, kind, cursor: fc.nat() }),
  fc.record({
    t: fc.constant('page' as const),
    query,
    kind,
    next: fc.nat(),
    more: fc.boolean(),
    records: fc.array(fc.json({ maxDepth: 2 }), { maxLength: 8 }),
  }),
)

const refused = (bytes: Uint8Array) =>
  expect(() => decodeMeshMessage(bytes)).toThrow(MeshMessageError)
const raw = (v: unknown) => bencode.encode(v)
const ID = 'ab'.repeat(20)

describe('mesh messages', () => {
  it('round-trip every message', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeMeshMessage(encodeMeshMessage(m))).toEqual(m)
      }),
      { numRuns: 300 },
    )
  })

  it('encode a who to the known bytes', () => {
    const bytes = encodeMeshMessage({ t: 'who', query: 7, infoHash: ID })
    const expected = `d2:ih20:${'\u00ab'.repeat(20)}1:qi7e1:t3:whoe`
    expect(Buffer.from(bytes).toString('latin1')).toBe(expected)
  })

  it('never throw anything but MeshMessageError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          decodeMeshMessage(bytes)
        } catch (err) {
          expect(err).toBeInstanceOf(MeshMessageError)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('refuse malformed, oversized and out-of-range messages', () => {
    const id = new Uint8Array(20)
    refused(new Uint8Array(MAX_MESH_MESSAGE_BYTES + 1))
    refused(raw({ t: 'nope' }))
    refused(raw(['t', 'who']))
    refused(raw({ t: 'who', q: 1 }))
    refused(raw({ t: 'who', q: -1, ih: id }))
    refused(raw({ t: 'who', q: 1, ih: new Uint8Array(19) }))
    refused(raw({ t: 'sig', to: id, fr: id, ih: id, h: 3, k: 'o', s: 'x' }))
    refused(raw({ t: 'sig', to: id, fr: id, ih: id, h: 0, k: 'x', s: 'x' }))
    refused(raw({ t: 'pex', a: Array(MAX_MESH_PEER_IDS + 1).fill(id), d: [] }))
    refused(raw({ t: 'pull', q: 1, k: 'everything', c: 0 }))
    refused(raw({ t: 'page', q: 1, k: 'hosts', n: 0, m: 2, i: [] }))
    refused(raw({ t: 'page', q: 1, k: 'hosts', n: 0, m: 0, i: [new Uint8Array([0xff])] }))
    // Trailing bytes and keys out of order: not the one encoding of the message.
    const who = raw({ t: 'who', q: 1, ih: id })
    refused(new Uint8Array([...who, 0x65]))
    refused(new TextEncoder().encode('d1:t3:who1:qi1e2:ih20:' + 'a'.repeat(20) + 'e'))
  })

  it('refuse to encode what a receiver would refuse', () => {
    expect(() => encodeMeshMessage({ t: 'who', query: 1, infoHash: 'AB'.repeat(20) })).toThrow(
      MeshMessageError,
    )
    expect(() =>
      encodeMeshMessage({
        t: 'sig',
        to: ID,
        from: ID,
        infoHash: ID,
        hops: 3,
        kind: 'offer',
        sdp: '',
      }),
    ).toThrow(MeshMessageError)
  })
})
