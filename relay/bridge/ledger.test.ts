import { describe, expect, it } from 'vitest'
import { BridgeFullError, BridgeLedger } from './ledger.ts'

const MIN = 60_000
const hash = (n: number) => n.toString(16).padStart(40, '0')
const ledger = (over: Partial<ConstructorParameters<typeof BridgeLedger>[0]> = {}) =>
  new BridgeLedger({
    maxTorrents: 3,
    maxDiskBytes: 1000,
    maxMemoryBytes: 1e9,
    minIdleMs: MIN,
    ...over,
  })

function refusal(fn: () => unknown): BridgeFullError {
  try {
    fn()
  } catch (err) {
    if (err instanceof BridgeFullError) return err
    throw err
  }
  throw new Error('not refused')
}

describe('BridgeLedger', () => {
  it('takes torrents up to the cap, then evicts the least recently used idle one', () => {
    const l = ledger()
    l.admit(hash(1), 0, 0)
    l.admit(hash(2), 1, 0)
    l.admit(hash(3), 2, 0)
    l.touch(hash(1), 3) // 2 is now the least recently used
    expect(l.admit(hash(4), MIN + 10, 0)).toEqual([hash(2)])
    expect(l.entries().map((e) => e.infoHash)).toEqual([hash(3), hash(1), hash(4)])
  })

  it('refuses a new torrent when every slot was used within the idle window', () => {
    const l = ledger({ maxTorrents: 1 })
    l.admit(hash(1), 0, 0)
    const err = refusal(() => l.admit(hash(2), MIN - 1, 0))
    expect(err.reason).toBe('torrents')
    expect(err.message).toMatch(/limit of 1 torrents/)
    expect(l.has(hash(1))).toBe(true)
    expect(l.has(hash(2))).toBe(false)
  })

  it('asking again for a held hash only marks it used', () => {
    const l = ledger({ maxTorrents: 1 })
    l.admit(hash(1), 0, 0)
    expect(l.admit(hash(1), 5, 0)).toEqual([])
    expect(l.get(hash(1))?.lastUsed).toBe(5)
  })

  it('evicts idle torrents for disk when the metadata gives a length', () => {
    const l = ledger()
    l.admit(hash(1), 0, 0, 600)
    l.admit(hash(2), 1, 0)
    expect(l.setBytes(hash(2), 500, MIN + 1)).toEqual([hash(1)])
    expect(l.diskBytes).toBe(500)
  })

  it('refuses and forgets a torrent larger than the disk limit', () => {
    const l = ledger()
    expect(refusal(() => l.admit(hash(1), 0, 0, 1001)).reason).toBe('too-large')
    l.admit(hash(2), 0, 0)
    expect(refusal(() => l.setBytes(hash(2), 2000, 0)).reason).toBe('too-large')
    expect(l.has(hash(2))).toBe(false)
  })

  it('forgets a torrent whose length does not fit beside ones in use', () => {
    const l = ledger()
    l.admit(hash(1), 0, 0, 800)
    l.admit(hash(2), 1, 0)
    expect(refusal(() => l.setBytes(hash(2), 300, 2)).reason).toBe('disk')
    expect(l.has(hash(2))).toBe(false)
    expect(l.diskBytes).toBe(800)
  })

  it('over the memory limit, evicts one idle torrent per new one, and refuses with none idle', () => {
    const l = ledger()
    l.admit(hash(1), 0, 0)
    expect(l.admit(hash(2), MIN, 2e9)).toEqual([hash(1)])
    expect(refusal(() => l.admit(hash(3), MIN + 1, 2e9)).reason).toBe('memory')
    expect(l.overMemory(MIN + 1, 2e9)).toBeNull()
    expect(l.overMemory(3 * MIN, 2e9)).toBe(hash(2))
    expect(l.size).toBe(0)
  })
})
