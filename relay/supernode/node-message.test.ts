import { describe, expect, it } from 'vitest'
import { createFastVerifier } from '../signatures/verify.ts'
import { MESSAGE_WINDOW_SECONDS } from '../limits.ts'
import { OpenSslSigner } from '../openssl-signer.ts'
import {
  NodeMessageError,
  ReplayGuard,
  signNodeMessage,
  verifyNodeMessage,
  type NodeMessage,
} from './node-message.ts'

const NOW = 1_764_115_200
const verify = createFastVerifier()
const alice = new OpenSslSigner()
const bob = new OpenSslSigner()

const wire = (m: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(m))

function check(value: unknown, replay?: ReplayGuard, typ: 'handoff' | 'promotion' = 'handoff') {
  return verifyNodeMessage(value, { self: bob.id, typ, nowSeconds: NOW, verify, replay })
}

/** The code a refusal carries. */
function code(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof NodeMessageError) return err.code
    throw err
  }
  return 'accepted'
}

describe('signed node messages', () => {
  it('round-trips: the receiver gets the payload and the sender', () => {
    const message = signNodeMessage(alice, 'handoff', bob.id, { swarms: [1, 2] }, NOW)
    const { message: got, payload } = check(wire(message), new ReplayGuard())
    expect(got.from).toBe(alice.id)
    expect(payload).toEqual({ swarms: [1, 2] })
  })

  it('refuses tampering with any signed field, and a signature moved to another sender', () => {
    const message = signNodeMessage(alice, 'handoff', bob.id, { swarms: [] }, NOW)
    const tampered: [keyof NodeMessage, unknown][] = [
      ['body', '{"swarms":[0]}'],
      ['ts', NOW - 1],
      ['nonce', '0'.repeat(32)],
      ['from', bob.id],
      ['sig', message.sig.replace(/^./, (c) => (c === '0' ? '1' : '0'))],
    ]
    for (const [field, value] of tampered) {
      expect(
        code(() => check({ ...wire(message), [field]: value })),
        field,
      ).toBe('bad-signature')
    }
  })

  it('refuses another type, another receiver, a stale or future clock, and a replay', () => {
    const message = signNodeMessage(alice, 'handoff', bob.id, {}, NOW)
    expect(code(() => check(wire(message), undefined, 'promotion'))).toBe('malformed')
    const toAlice = signNodeMessage(bob, 'handoff', alice.id, {}, NOW)
    expect(code(() => check(wire(toAlice)))).toBe('wrong-receiver')
    for (const skew of [-MESSAGE_WINDOW_SECONDS - 1, MESSAGE_WINDOW_SECONDS + 1]) {
      const old = signNodeMessage(alice, 'handoff', bob.id, {}, NOW + skew)
      expect(code(() => check(wire(old)))).toBe('stale')
    }
    const replay = new ReplayGuard()
    expect(code(() => check(wire(message), replay))).toBe('accepted')
    expect(code(() => check(wire(message), replay))).toBe('replayed')
  })

  it('refuses truncated, oversized and mistyped input with malformed or too-large', () => {
    const message = wire(signNodeMessage(alice, 'handoff', bob.id, {}, NOW))
    for (const value of [null, [], 'x', 7, { ...message, extra: 1 }, { ...message, v: 2 }]) {
      expect(code(() => check(value))).toBe('malformed')
    }
    for (const key of Object.keys(message)) {
      const cut = { ...message }
      delete cut[key]
      expect(
        code(() => check(cut)),
        key,
      ).toBe('malformed')
    }
    expect(code(() => check({ ...message, ts: '1' }))).toBe('malformed')
    expect(code(() => check({ ...message, from: 'A'.repeat(64) }))).toBe('malformed')
    const huge = signNodeMessage(alice, 'handoff', bob.id, 'x'.repeat(5 * 1024 * 1024), NOW)
    expect(code(() => check(wire(huge)))).toBe('too-large')
  })

  it('keeps at most its capacity of unexpired nonces, refusing (not forgetting) beyond it', () => {
    const replay = new ReplayGuard(2)
    replay.check('a', NOW, NOW)
    replay.check('b', NOW, NOW)
    expect(code(() => replay.check('c', NOW, NOW))).toBe('busy')
    // Once the old ones are out of the window, room is made.
    replay.check('c', NOW + MESSAGE_WINDOW_SECONDS + 1, NOW + MESSAGE_WINDOW_SECONDS + 1)
    expect(replay.size).toBe(1)
  })
})
