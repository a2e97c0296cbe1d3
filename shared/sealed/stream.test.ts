import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createIdentity } from '../identity.ts'
import {
  REQUEST_OVERHEAD,
  RESPONSE_OVERHEAD,
  SealedError,
  ephemeralSession,
  parseRequest,
  receiverKey,
} from './envelope.ts'
import { SealedStream } from './stream.ts'

const NOW = 1_764_115_200
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n))
const relay = createIdentity()
const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => new TextDecoder().decode(b)

/** A client stream and the relay's side of it, after the opening frame. */
function pair(first = '{"action":"announce"}') {
  const session = ephemeralSession(relay.id, random)
  const { stream: client, frame } = SealedStream.open(session, text(first), NOW, random)
  const req = parseRequest(frame, 1 << 20)
  const key = receiverKey(relay.secretKey, relay.id, req)
  const { stream: server, plaintext } = SealedStream.accept(req, key)
  return { client, server, frame, opened: str(plaintext) }
}

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof SealedError) return err.code
    throw err
  }
  return 'opened'
}

describe('sealed streams', () => {
  it('carries any sequence of frames both ways, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.string({ maxLength: 300 })), { maxLength: 20 }),
        (frames) => {
          const { client, server, frame, opened } = pair()
          expect(opened).toBe('{"action":"announce"}')
          expect(frame.length).toBe(text(opened).length + REQUEST_OVERHEAD)
          for (const [up, message] of frames) {
            const [from, to] = up ? [client, server] : [server, client]
            const sealed = from.seal(text(message), NOW, random)
            expect(sealed.length).toBe(text(message).length + RESPONSE_OVERHEAD)
            const { plaintext, ts } = to.open(sealed)
            expect(str(plaintext)).toBe(message)
            expect(ts).toBe(NOW)
          }
        },
      ),
      { numRuns: 50 },
    )
  })

  it('refuses a frame with any byte changed', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const { client, server } = pair()
        const sealed = client.seal(text('{"offer":"v=0"}'), NOW, random)
        sealed[at % sealed.length] ^= flip
        expect(['unauthentic', 'malformed', 'unsupported-version']).toContain(
          code(() => server.open(sealed)),
        )
      }),
      { numRuns: 100 },
    )
  })

  it('refuses a frame replayed, skipped, or reflected back to its sender', () => {
    const { client, server } = pair()
    const first = client.seal(text('one'), NOW, random)
    const second = client.seal(text('two'), NOW, random)
    expect(code(() => server.open(second))).toBe('unauthentic')
    const fresh = pair()
    const one = fresh.client.seal(text('one'), NOW, random)
    expect(str(fresh.server.open(one).plaintext)).toBe('one')
    expect(code(() => fresh.server.open(one))).toBe('unauthentic')
    const down = fresh.server.seal(text('down'), NOW, random)
    expect(code(() => fresh.server.open(down))).toBe('unauthentic')
    expect(str(fresh.client.open(down).plaintext)).toBe('down')
    expect(first).not.toEqual(second)
  })

  it('refuses a frame of another stream, even one under the same key', () => {
    const a = pair()
    const b = pair()
    expect(code(() => b.server.open(a.client.seal(text('x'), NOW, random)))).toBe('unauthentic')
    // Same ephemeral key, second opening: frames of the first do not open in it.
    const session = ephemeralSession(relay.id, random)
    const one = SealedStream.open(session, text('1'), NOW, random)
    const two = SealedStream.open(session, text('2'), NOW, random)
    const req = parseRequest(two.frame, 1 << 20)
    const { stream } = SealedStream.accept(req, receiverKey(relay.secretKey, relay.id, req))
    expect(code(() => stream.open(one.stream.seal(text('x'), NOW, random)))).toBe('unauthentic')
  })

  it('refuses an opening sealed to another relay', () => {
    const other = createIdentity()
    const session = ephemeralSession(other.id, random)
    const { frame } = SealedStream.open(session, text('{}'), NOW, random)
    const req = parseRequest(frame, 1 << 20)
    // The relay's key for this sender is not the one it was sealed under.
    const key = receiverKey(relay.secretKey, relay.id, req)
    expect(code(() => SealedStream.accept(req, key))).toBe('unauthentic')
  })
})

describe('sealed stream format', () => {
  // An independent reading of the format, so a change of it (which would cut cached apps off
  // from upgraded relays) fails here: frame n going `dir` ('u' up, 'd' down) is
  //   01 | 03 | ts (4, BE) | nonce (24) | XChaCha20-Poly1305(key, nonce,
  //     aad = those 30 header bytes | opening nonce (24) | dir (1) | n (8, BE))
  function reference(key: Uint8Array, opening: Uint8Array, dir: string, n: number, pt: string) {
    const header = new Uint8Array(30)
    header.set([1, 3])
    new DataView(header.buffer).setUint32(2, NOW)
    header.fill(0x5a, 6)
    const tail = new Uint8Array(9)
    tail[0] = dir.charCodeAt(0)
    new DataView(tail.buffer).setBigUint64(1, BigInt(n))
    const aad = new Uint8Array([...header, ...opening, ...tail])
    const sealed = xchacha20poly1305(key, header.subarray(6), aad).encrypt(text(pt))
    return new Uint8Array([...header, ...sealed])
  }

  it('seals frame n each way as the reference does', () => {
    const { client, server } = pair()
    const fixed = (n: number) => new Uint8Array(n).fill(0x5a)
    for (let n = 1; n <= 3; n++) {
      const up = client.seal(text(`up ${n}`), NOW, fixed)
      expect(up).toEqual(reference(client.key, client.opening, 'u', n, `up ${n}`))
      server.open(up)
    }
    for (let n = 0; n <= 2; n++) {
      const down = server.seal(text(`down ${n}`), NOW, fixed)
      expect(down).toEqual(reference(server.key, server.opening, 'd', n, `down ${n}`))
    }
    expect(server.opening).toEqual(client.opening)
  })
})
