import { describe, expect, it } from 'vitest'
import {
  MAX_TURN_CHANNELS_PER_ALLOCATION,
  MAX_TURN_PERMISSIONS_PER_ALLOCATION,
  TURN_CHANNEL_LIFETIME_SECONDS,
  TURN_PERMISSION_LIFETIME_SECONDS,
} from '../limits.ts'
import { Allocation, AllocationTable, sourceKey, type ClientLink } from './allocations.ts'
import { ByteBudget } from './byte-budget.ts'

function link(id: string, ip = '192.0.2.1'): ClientLink {
  return {
    id,
    transport: 'udp',
    ip,
    port: 1,
    send: () => {},
    sendChannelData: () => {},
    isOpen: () => true,
    freed: () => {},
  }
}

const make = (id: string, ip?: string) =>
  new Allocation(link(id, ip), 'u', Buffer.alloc(16), 'tid', 1e12)

describe('AllocationTable', () => {
  it('counts reservations against the per-address and total caps, and gives them back', () => {
    const table = new AllocationTable(3, 2)
    expect(table.reserve('a', '192.0.2.1')).toBe('ok')
    expect(table.reserve('b', '192.0.2.1')).toBe('ok')
    expect(table.reserve('c', '192.0.2.1')).toBe('quota-client')
    expect(table.reserve('c', '192.0.2.2')).toBe('ok')
    expect(table.reserve('d', '192.0.2.3')).toBe('quota-total')
    expect(table.isPending('a')).toBe(true)
    table.commit(make('a'))
    expect(table.size).toBe(1)
    table.cancel('b', '192.0.2.1')
    expect(table.countOf('192.0.2.1')).toBe(1)
    expect(table.remove('a')).toBeDefined()
    expect(table.remove('a')).toBeUndefined()
    expect(table.countOf('192.0.2.1')).toBe(0)
    expect(table.reserve('d', '192.0.2.3')).toBe('ok')
  })
})

describe('sourceKey', () => {
  it('is the address for IPv4 and the /64 for IPv6', () => {
    expect(sourceKey('198.51.100.7')).toBe('198.51.100.7')
    expect(sourceKey('2001:db8:1:2:aaaa::1')).toBe('20010db800010002/64')
    expect(sourceKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(sourceKey('2001:db8:1:2::9'))
    expect(sourceKey('2001:db8:1:3::9')).not.toBe(sourceKey('2001:db8:1:2::9'))
  })

  it('shares one per-address quota across a /64', () => {
    const table = new AllocationTable(10, 2)
    expect(table.reserve('a', '2001:db8::1')).toBe('ok')
    expect(table.reserve('b', '2001:db8::2')).toBe('ok')
    expect(table.reserve('c', '2001:db8::3')).toBe('quota-client')
    expect(table.reserve('c', '2001:db8:0:1::3')).toBe('ok')
    table.cancel('a', '2001:db8::1')
    expect(table.countOf('2001:db8::ffff')).toBe(1)
  })
})

describe('Allocation', () => {
  it('permits peers for five minutes, all or none up to the cap', () => {
    const a = make('a')
    expect(a.permit(['198.51.100.1'], 0)).toBe(true)
    expect(a.permitted('198.51.100.1', TURN_PERMISSION_LIFETIME_SECONDS * 1000 - 1)).toBe(true)
    expect(a.permitted('198.51.100.1', TURN_PERMISSION_LIFETIME_SECONDS * 1000)).toBe(false)
    expect(a.permitted('198.51.100.2', 0)).toBe(false)
    const many = Array.from(
      { length: MAX_TURN_PERMISSIONS_PER_ALLOCATION },
      (_, i) => `203.0.113.${i}`,
    )
    expect(a.permit(many, 0)).toBe(false)
    expect(a.permissions.size).toBe(1)
    expect(a.permit(many.slice(1), 0)).toBe(true)
    expect(a.permit(['198.51.100.1'], 10)).toBe(true) // a refresh adds nothing
  })

  it('binds channels one to one, refreshes them, and prunes what expired', () => {
    const a = make('a')
    expect(a.bindChannel(0x4000, '198.51.100.1', 5, 0)).toBe('ok')
    expect(a.bindChannel(0x4000, '198.51.100.1', 5, 1000)).toBe('ok')
    expect(a.bindChannel(0x4000, '198.51.100.1', 6, 0)).toBe('conflict')
    expect(a.bindChannel(0x4001, '198.51.100.1', 5, 0)).toBe('conflict')
    expect(a.permitted('198.51.100.1', 0)).toBe(true)
    for (let i = 1; i < MAX_TURN_CHANNELS_PER_ALLOCATION; i++) {
      expect(a.bindChannel(0x4000 + i, '198.51.100.2', 1000 + i, 0)).toBe('ok')
    }
    expect(a.bindChannel(0x4fff, '198.51.100.2', 9, 0)).toBe('full')
    a.prune(TURN_CHANNEL_LIFETIME_SECONDS * 1000 + 1)
    expect(a.channels.size).toBe(1) // the one refreshed at 1000 ms
    expect(a.channelsByPeer.get('198.51.100.1:5')?.number).toBe(0x4000)
    expect(a.permissions.size).toBe(0)
    a.prune(TURN_CHANNEL_LIFETIME_SECONDS * 1000 + 1000)
    expect(a.channels.size).toBe(0)
    expect(a.channelsByPeer.size).toBe(0)
  })
})

describe('ByteBudget', () => {
  it('grants bytes up to the burst, refills at the rate, and 0 means no cap', () => {
    const budget = new ByteBudget(1000, 0, 1500)
    expect(budget.take(1500, 0)).toBe(true)
    expect(budget.take(1, 0)).toBe(false)
    expect(budget.take(500, 500)).toBe(true)
    expect(budget.take(1, 500)).toBe(false)
    expect(budget.take(1500, 60_000)).toBe(true)
    const free = new ByteBudget(0, 0)
    expect(free.take(1e9, 0)).toBe(true)
  })
})
