import fc from 'fast-check'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { concatBytes } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { bytesToHex, createIdentity, hexToBytes } from '../identity.ts'
import {
  REQUEST_HEADER_BYTES,
  REQUEST_OVERHEAD,
  RESPONSE_OVERHEAD,
  SealedError,
  ephemeralSession,
  nodeSession,
  openRequest,
  openResponse,
  parseRequest,
  receiverKey,
  sealRequest,
  sealResponse,
  type Aead,
} from './envelope.ts'
import vectors from '../test/vectors/sealed.json'

const NOW = 1_764_115_200
const MAX = 1 << 20
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n))
const relayA = createIdentity()
const relayB = createIdentity()
const text = (s: string) => new TextEncoder().encode(s)

/** The receiver's whole path: parse, check `to`, derive the key, open. */
function receive(bytes: Uint8Array, me = relayB) {
  const req = parseRequest(bytes, MAX)
  if (req.to !== me.id) throw new SealedError('wrong-receiver', 'not for me')
  const key = receiverKey(me.secretKey, me.id, req)
  return { req, key, plaintext: openRequest(req, key) }
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

describe('sealed envelopes', () => {
  it('round-trips any request and its response, relay to relay and browser to relay', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.boolean(), (body, browser) => {
        const session = browser
          ? ephemeralSession(relayB.id, random)
          : nodeSession(relayA.secretKey, relayA.id, relayB.id)
        const sealed = sealRequest(session, body, NOW, random)
        expect(sealed.length).toBe(body.length + REQUEST_OVERHEAD)
        const { req, key, plaintext } = receive(sealed)
        expect(plaintext).toEqual(body)
        expect(req.ts).toBe(NOW)
        expect(key).toEqual(session.key)
        if (!browser) expect(req.senderHex).toBe(relayA.id)
        const answer = sealResponse(key, req.nonce, body, NOW + 1, random)
        expect(answer.length).toBe(body.length + RESPONSE_OVERHEAD)
        expect(openResponse(session.key, req.nonce, answer)).toEqual({
          plaintext: body,
          ts: NOW + 1,
        })
      }),
      { numRuns: 50 },
    )
  })

  it('seals parts as the bytes of their concatenation, with or without encryptParts', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 }), (parts) => {
        const key = random(32)
        const nonce = random(24)
        const fixed = () => {
          let n = 0
          return (size: number) => new Uint8Array(size).fill(++n)
        }
        const whole = sealResponse(
          key,
          nonce,
          new Uint8Array(parts.flatMap((p) => [...p])),
          NOW,
          fixed(),
        )
        expect(sealResponse(key, nonce, parts, NOW, fixed())).toEqual(whole)
        // An AEAD that seals parts itself gets them unjoined.
        const seen: number[] = []
        const partwise: Aead = (k, n, aad) => ({
          ...xchacha20poly1305(k, n, aad),
          encryptParts: (given, output) => {
            seen.push(given.length)
            return xchacha20poly1305(k, n, aad).encrypt(concatBytes(...given), output)
          },
        })
        expect(sealResponse(key, nonce, parts, NOW, fixed(), partwise)).toEqual(whole)
        expect(seen).toEqual(parts.length === 1 ? [] : [parts.length])
      }),
      { numRuns: 50 },
    )
  })

  it('matches the known-answer vectors', () => {
    for (const v of vectors) {
      let counter = 0
      const fixed = (n: number) => new Uint8Array(n).fill(++counter)
      const a = createIdentity(() => hexToBytes(v.senderSecret))
      const b = createIdentity(() => hexToBytes(v.receiverSecret))
      const session =
        v.kind === 'node'
          ? nodeSession(a.secretKey, a.id, b.id)
          : ephemeralSession(b.id, () => hexToBytes(v.ephemeralSecret!))
      const sealed = sealRequest(session, text(v.plaintext), v.ts, fixed)
      expect(bytesToHex(sealed)).toBe(v.sealed)
      expect(new TextDecoder().decode(receive(sealed, b).plaintext)).toBe(v.plaintext)
    }
  })

  it('refuses a request tampered with anywhere: header, ciphertext or tag', () => {
    const session = nodeSession(relayA.secretKey, relayA.id, relayB.id)
    const sealed = sealRequest(session, text('{"m":"GET","p":"/v1/listings"}\n'), NOW, random)
    for (let i = 0; i < sealed.length; i++) {
      const bad = sealed.slice()
      bad[i] ^= 0x01
      const expected =
        i === 0
          ? 'unsupported-version'
          : i === 1
            ? 'malformed'
            : i >= 34 && i < 66
              ? 'wrong-receiver'
              : 'unauthentic'
      // A flipped sender bit names another node, whose pair key does not open it.
      expect([i, code(() => receive(bad))]).toEqual([i, expected])
    }
  })

  it('refuses a wrong key: sealed to another relay, or by one claiming another id', () => {
    const toA = sealRequest(
      nodeSession(relayB.secretKey, relayB.id, relayA.id),
      text('x'),
      NOW,
      random,
    )
    expect(code(() => receive(toA))).toBe('wrong-receiver')
    // Mallory writes relayA's id as sender but can only compute her own pair key.
    const mallory = createIdentity()
    const forged = nodeSession(mallory.secretKey, mallory.id, relayB.id)
    const bytes = sealRequest({ ...forged, sender: hexToBytes(relayA.id) }, text('x'), NOW, random)
    expect(code(() => receive(bytes))).toBe('unauthentic')
    // The right envelope, opened by a third relay that was not asked.
    const sealed = sealRequest(
      nodeSession(relayA.secretKey, relayA.id, relayB.id),
      text('x'),
      NOW,
      random,
    )
    const req = parseRequest(sealed, MAX)
    expect(code(() => openRequest(req, receiverKey(mallory.secretKey, mallory.id, req)))).toBe(
      'unauthentic',
    )
  })

  it('refuses truncation at every length, and oversize', () => {
    const session = ephemeralSession(relayB.id, random)
    const sealed = sealRequest(session, text('hello, relay'), NOW, random)
    for (let n = 0; n < sealed.length; n++) {
      const expected = n < REQUEST_OVERHEAD ? 'truncated' : 'unauthentic'
      expect([n, code(() => receive(sealed.subarray(0, n)))]).toEqual([n, expected])
    }
    expect(code(() => parseRequest(sealed, sealed.length - 1))).toBe('too-large')
  })

  it('binds a response to its request: another request, a reflection, tampering all fail', () => {
    const session = nodeSession(relayA.secretKey, relayA.id, relayB.id)
    const first = receive(sealRequest(session, text('one'), NOW, random))
    const second = receive(sealRequest(session, text('two'), NOW, random))
    const answer = sealResponse(first.key, first.req.nonce, text('for one'), NOW, random)
    expect(code(() => openResponse(session.key, second.req.nonce, answer))).toBe('unauthentic')
    for (const i of [2, 6, 30, answer.length - 1]) {
      const bad = answer.slice()
      bad[i] ^= 0x80
      expect(code(() => openResponse(session.key, first.req.nonce, bad))).toBe('unauthentic')
    }
    expect(code(() => openResponse(session.key, first.req.nonce, answer.subarray(0, 20)))).toBe(
      'truncated',
    )
    // A response is not a request: its kind byte is refused before any key is tried.
    const reflected = new Uint8Array(REQUEST_HEADER_BYTES + 16)
    reflected.set(answer.subarray(0, 2))
    expect(code(() => parseRequest(reflected, MAX))).toBe('malformed')
  })

  it('refuses an ephemeral sender key of small order', () => {
    const session = ephemeralSession(relayB.id, random)
    const sealed = sealRequest({ ...session, sender: new Uint8Array(32) }, text('x'), NOW, random)
    const req = parseRequest(sealed, MAX)
    expect(code(() => receiverKey(relayB.secretKey, relayB.id, req))).toBe('unauthentic')
  })
})
