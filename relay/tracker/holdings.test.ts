import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Holdings, addressKey } from './holdings.ts'

describe('Holdings', () => {
  it('finds the address holding the most and its oldest item, as a plain recount does', () => {
    const op = fc.record({ add: fc.boolean(), source: fc.nat(4), item: fc.nat(30) })
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const h = new Holdings<number>()
        const ref = new Map<string, number[]>()
        for (const { add, source, item } of ops) {
          const s = String(source)
          const list = ref.get(s) ?? []
          const at = list.indexOf(item)
          if (add) h.add(s, item)
          else h.delete(s, item)
          if (add && at === -1) list.push(item)
          if (!add && at !== -1) list.splice(at, 1)
          ref.set(s, list)
          const most = Math.max(0, ...[...ref.values()].map((l) => l.length))
          const top = h.heaviest()
          if (most === 0) expect(top).toBeUndefined()
          else {
            expect(top!.count).toBe(most)
            expect(ref.get(top!.source)!.length).toBe(most)
            expect(top!.oldest).toBe(ref.get(top!.source)![0])
          }
          for (const [k, l] of ref) expect(h.count(k)).toBe(l.length)
        }
      }),
    )
  })

  it('keys IPv4 by address and IPv6 by its /64', () => {
    expect(addressKey('127.0.0.9')).toBe('127.0.0.9')
    expect(addressKey('2001:db8::1')).toBe(addressKey('2001:db8:0:0:ffff::2'))
    expect(addressKey('2001:db8::1')).not.toBe(addressKey('2001:db8:0:1::1'))
  })
})
