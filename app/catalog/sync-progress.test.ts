import { describe, expect, it } from 'vitest'
import { newRelayProgress } from '../workers/catalog-relay-sync.ts'
import type { RelaySyncProgress } from './protocol.ts'
import { refusedText, relayProgressText, syncTotals, totalsText } from './sync-progress.ts'

const NOW = 1_764_115_200_000

function relay(over: Partial<RelaySyncProgress> = {}): RelaySyncProgress {
  return { ...newRelayProgress('http://relay.example:8080'), ...over }
}

describe('relayProgressText', () => {
  it('says how much is in, of how many, and how many were refused while a relay is read', () => {
    expect(relayProgressText(relay({ fetched: 1234, remaining: 998_766, refused: 2 }))).toBe(
      '1,234 of 1,000,000 listings in · 2 refused',
    )
    expect(relayProgressText(relay({ fetched: 0, remaining: 1 }))).toBe('0 of 1 listing in')
  })

  it('leaves out what the relay does not say, and refusals when there are none', () => {
    expect(relayProgressText(relay({ fetched: 1000 }))).toBe('1,000 listings in')
  })

  it('after a pass: what it read, what it refused, and when it last completed', () => {
    const idle = relay({ state: 'idle', fetched: 1, refused: 3, lastSyncAt: NOW - 120_000 })
    expect(relayProgressText(idle, NOW)).toBe(
      '1 listing read this pass · 3 refused · last complete 2 min ago',
    )
    expect(relayProgressText(relay({ state: 'idle', fetched: 5 }), NOW)).toBe(
      '5 listings read this pass',
    )
  })

  it('an unreachable relay: its error and its refusals', () => {
    const down = relay({ state: 'error', error: 'cannot reach relay.example:8080', refused: 1 })
    expect(relayProgressText(down)).toBe('cannot reach relay.example:8080 · 1 refused')
  })

  it('shows a hostile relay error as text, whatever it holds', () => {
    const error = '<img src=x onerror=alert(1)>'
    expect(relayProgressText(relay({ state: 'error', error }))).toBe(error)
  })
})

describe('syncTotals', () => {
  const a = relay({ relay: 'http://a.example', fetched: 10, remaining: 90, refused: 2 })
  const b = relay({ relay: 'https://b.example', fetched: 5, remaining: 5, refused: 7 })
  const done = relay({ relay: 'http://c.example', state: 'idle', remaining: 0, refused: 0 })

  it('adds what every relay being read still has to what is stored', () => {
    const t = syncTotals([a, b, done], 1000, 0)
    expect(t.remaining).toBe(95)
    expect(totalsText(t)).toBe('1,000 of 1,095 listings in · 9 refused')
  })

  it('names where refusals came from, the most first, the mesh among them', () => {
    const t = syncTotals([a, b, done], 0, 4)
    expect(t.refused).toBe(13)
    expect(t.refusedFrom).toEqual([
      { source: 'b.example', count: 7 },
      { source: 'the mesh', count: 4 },
      { source: 'a.example', count: 2 },
    ])
    expect(refusedText(t)).toBe(
      'Refused (failed verification, never shown): 7 from b.example, 4 from the mesh, 2 from a.example',
    )
  })

  it('says nothing of what is left when no relay says, and nothing of refusals when none', () => {
    const t = syncTotals([done, relay({ remaining: null })], 1, 0)
    expect(t.remaining).toBeNull()
    expect(totalsText(t)).toBe('1 listing in')
    expect(refusedText(t)).toBeNull()
  })
})
