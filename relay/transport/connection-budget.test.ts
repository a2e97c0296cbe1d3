import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { quietRefusals } from '../refusals.ts'
import { ConnectionBudget, connectionKey } from './connection-budget.ts'

const socketFrom = (remoteAddress: string) =>
  Object.assign(new EventEmitter(), { remoteAddress }) as unknown as Socket

describe('ConnectionBudget', () => {
  it('admits an address up to its cap, refuses and counts the rest, frees on close', () => {
    const refusals = quietRefusals()
    const budget = new ConnectionBudget({ maxPerAddress: 3, maxTotal: 100, refusals })
    const open = [1, 2, 3].map(() => socketFrom('192.0.2.7'))
    expect(open.map((s) => budget.admit(s))).toEqual([true, true, true])
    expect(budget.admit(socketFrom('192.0.2.7'))).toBe(false)
    expect(budget.admit(socketFrom('::ffff:192.0.2.7'))).toBe(false)
    expect(budget.admit(socketFrom('192.0.2.8'))).toBe(true)
    expect(refusals.count('connections-per-address')).toBe(2)
    open[0].emit('close')
    expect(budget.admit(socketFrom('192.0.2.7'))).toBe(true)
    expect(budget.openFrom('192.0.2.7')).toBe(3)
  })

  it('counts an IPv6 address by its /64, and forgets addresses with nothing open', () => {
    const budget = new ConnectionBudget({
      maxPerAddress: 2,
      maxTotal: 100,
      refusals: quietRefusals(),
    })
    expect(connectionKey('2001:db8:1:2::1')).toBe(connectionKey('2001:db8:1:2:ffff::9'))
    const a = socketFrom('2001:db8:1:2::1')
    const b = socketFrom('2001:db8:1:2::2')
    expect([budget.admit(a), budget.admit(b)]).toEqual([true, true])
    expect(budget.admit(socketFrom('2001:db8:1:2::3'))).toBe(false)
    expect(budget.admit(socketFrom('2001:db8:1:3::1'))).toBe(true)
    a.emit('close')
    b.emit('close')
    expect(budget.addresses).toBe(1)
  })

  it('counts connections node dropped over the total', () => {
    const refusals = quietRefusals()
    const budget = new ConnectionBudget({ maxPerAddress: 2, maxTotal: 10, refusals })
    budget.dropped('192.0.2.9')
    expect(refusals.count('connections-full')).toBe(1)
  })
})
