import { describe, expect, it } from 'vitest'
import { fakeLocks } from './catalog-test-support.ts'
import { CATALOG_WRITE_LOCK, exclusively } from './catalog-write-lock.ts'

describe('exclusively', () => {
  it('runs one writer at a time under the catalog lock, in order, failures included', async () => {
    const locks = fakeLocks()
    const order: string[] = []
    const write = (name: string, fail = false) =>
      exclusively(async () => {
        expect(locks.held).toEqual([CATALOG_WRITE_LOCK])
        order.push(`${name} in`)
        await new Promise((r) => setTimeout(r, 5))
        order.push(`${name} out`)
        if (fail) throw new Error(name)
        return name
      }, locks)
    const results = await Promise.allSettled([write('a'), write('b', true), write('c')])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(order).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out'])
  })

  it('runs the work unlocked where there is no Web Locks API', async () => {
    expect(await exclusively(async () => 7, undefined)).toBe(7)
  })
})
