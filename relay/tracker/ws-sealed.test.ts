import { describe, expect, it } from 'vitest'
import { createIdentity } from '../../shared/identity.ts'
import { ephemeralSession, nodeSession, sealRequest } from '../../shared/sealed/envelope.ts'
import { SealedStream } from '../../shared/sealed/stream.ts'
import { SealedSignalling, type SealedRefusal } from './ws-sealed.ts'

const relay = createIdentity()
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n))
const text = (s: string) => new TextEncoder().encode(s)
const ANNOUNCE = '{"action":"announce","info_hash":"ÿ\u0001"}'

function setup(now = 1_764_115_200) {
  const clock = { now }
  const signalling = new SealedSignalling({ identity: relay, nowSeconds: () => clock.now })
  /** A browser's end: its opening frame (with `first` inside) and its stream. */
  const browser = (first = ANNOUNCE, to = relay.id, at = clock.now) => {
    const session = ephemeralSession(to, random)
    return SealedStream.open(session, text(first), at, random)
  }
  return { clock, signalling, browser }
}

const refusal = (v: string | SealedRefusal) => (typeof v === 'string' ? 'opened' : v)
const closeCode = (v: string | SealedRefusal) => (typeof v === 'string' ? 0 : v.code)

describe('SealedChannel', () => {
  it('opens the opening and later frames, and seals answers the browser opens', () => {
    const { signalling, browser, clock } = setup()
    const channel = signalling.channel()
    expect(channel.seal('{"too":"early"}')).toBeNull()
    const { stream, frame } = browser()
    expect(channel.open(frame, true)).toBe(ANNOUNCE)
    for (const message of ['{"a":1}', '{"sdp":"v=0\\r\\na=candidate:1 1 udp 1 10.0.0.1 9"}']) {
      const up = stream.seal(text(message), clock.now, random)
      expect(channel.open(up, true)).toBe(message)
      const down = channel.seal(message)!
      expect(new TextDecoder().decode(stream.open(down).plaintext)).toBe(message)
    }
  })

  it('closes on a tampered frame, and refuses every frame after it', () => {
    const { signalling, browser, clock } = setup()
    const channel = signalling.channel()
    const { stream, frame } = browser()
    channel.open(frame, true)
    const up = stream.seal(text('{"x":1}'), clock.now, random)
    up[up.length - 1] ^= 1
    expect(channel.open(up, true)).toEqual({ code: 1008, reason: 'sealed: unauthentic' })
    const next = stream.seal(text('{"x":2}'), clock.now, random)
    expect(refusal(channel.open(next, true))).toEqual({ code: 1008, reason: 'sealed: unauthentic' })
    expect(channel.seal('{}')).toBeNull()
  })

  it('closes on a tampered opening', () => {
    const { signalling, browser } = setup()
    const { frame } = browser()
    frame[120] ^= 0x40
    expect(signalling.channel().open(frame, true)).toEqual({
      code: 1008,
      reason: 'sealed: unauthentic',
    })
  })

  it('refuses an opening replayed on another socket', () => {
    const { signalling, browser } = setup()
    const { frame } = browser()
    expect(signalling.channel().open(frame, true)).toBe(ANNOUNCE)
    expect(signalling.channel().open(frame, true)).toEqual({
      code: 1008,
      reason: 'sealed: replayed',
    })
  })

  it('refuses a later frame replayed on its own socket', () => {
    const { signalling, browser, clock } = setup()
    const channel = signalling.channel()
    const { stream, frame } = browser()
    channel.open(frame, true)
    const up = stream.seal(text('{"x":1}'), clock.now, random)
    expect(channel.open(up, true)).toBe('{"x":1}')
    expect(refusal(channel.open(up, true))).toEqual({ code: 1008, reason: 'sealed: unauthentic' })
  })

  it('refuses a frame of another browser’s stream', () => {
    const { signalling, browser, clock } = setup()
    const mine = signalling.channel()
    const theirs = signalling.channel()
    const a = browser()
    const b = browser()
    mine.open(a.frame, true)
    theirs.open(b.frame, true)
    const fromB = b.stream.seal(text('{"x":1}'), clock.now, random)
    expect(refusal(mine.open(fromB, true))).toEqual({ code: 1008, reason: 'sealed: unauthentic' })
  })

  it('refuses an opening or a frame sealed more than a minute from the relay’s clock', () => {
    const { signalling, browser, clock } = setup()
    expect(
      refusal(signalling.channel().open(browser(ANNOUNCE, relay.id, clock.now - 61).frame, true)),
    ).toEqual({
      code: 1008,
      reason: 'sealed: stale',
    })
    const channel = signalling.channel()
    const { stream, frame } = browser()
    expect(channel.open(frame, true)).toBe(ANNOUNCE)
    const late = stream.seal(text('{}'), clock.now + 61, random)
    expect(refusal(channel.open(late, true))).toEqual({ code: 1008, reason: 'sealed: stale' })
  })

  it('tells a browser that sealed to another node id to ask for the id again (4421)', () => {
    const { signalling, browser } = setup()
    const other = createIdentity()
    expect(signalling.channel().open(browser(ANNOUNCE, other.id).frame, true)).toEqual({
      code: 4421,
      reason: 'sealed: wrong-receiver',
    })
  })

  it('refuses text frames, garbage, a node-keyed opening and a non-UTF-8 message', () => {
    const { signalling, clock } = setup()
    expect(signalling.channel().open(text(ANNOUNCE), false)).toEqual({
      code: 1008,
      reason: 'sealed: malformed',
    })
    expect(closeCode(signalling.channel().open(random(300), true))).toBe(1008)
    expect(closeCode(signalling.channel().open(new Uint8Array(0), true))).toBe(1008)
    const node = createIdentity()
    const bySession = sealRequest(
      nodeSession(node.secretKey, node.id, relay.id),
      text('{}'),
      clock.now,
      random,
    )
    expect(signalling.channel().open(bySession, true)).toEqual({
      code: 1008,
      reason: 'sealed: malformed',
    })
    const session = ephemeralSession(relay.id, random)
    const badUtf8 = SealedStream.open(session, Uint8Array.of(0xff, 0xfe), clock.now, random)
    expect(signalling.channel().open(badUtf8.frame, true)).toEqual({
      code: 1008,
      reason: 'sealed: malformed',
    })
  })

  it('asks new streams beyond the rate to retry later (1013), known streams unaffected', () => {
    const clock = { now: 1_764_115_200 }
    const signalling = new SealedSignalling({
      identity: relay,
      nowSeconds: () => clock.now,
      newStreamsPerSecond: 2,
    })
    const open = () => {
      const session = ephemeralSession(relay.id, random)
      const opened = SealedStream.open(session, text('{}'), clock.now, random)
      const channel = signalling.channel()
      return { ...opened, channel, answer: channel.open(opened.frame, true) }
    }
    const first = open()
    expect(first.answer).toBe('{}')
    open()
    expect(refusal(open().answer)).toEqual({ code: 1013, reason: 'sealed: busy' })
    const up = first.stream.seal(text('{"still":"here"}'), clock.now, random)
    expect(first.channel.open(up, true)).toBe('{"still":"here"}')
  })
})

describe('SealedChannel with ws Buffers', () => {
  it('opens frames that arrive as views of a larger pooled buffer', () => {
    const { signalling, browser, clock } = setup()
    const channel = signalling.channel()
    const { stream, frame } = browser()
    const pooled = (bytes: Uint8Array) => {
      const pool = Buffer.alloc(bytes.length + 4096)
      pool.set(bytes, 1000)
      return pool.subarray(1000, 1000 + bytes.length)
    }
    expect(channel.open(pooled(frame), true)).toBe(ANNOUNCE)
    expect(channel.open(pooled(stream.seal(text('{"n":2}'), clock.now, random)), true)).toBe(
      '{"n":2}',
    )
  })
})
