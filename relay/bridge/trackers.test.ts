import { describe, expect, it } from 'vitest'
import type { SupernodeRecord } from '../../shared/supernode.ts'
import { bodyTrackers, ownerTrackers, selfOrigin } from './trackers.ts'

const record = (id: string, url: string) => ({ id, urls: [url] }) as unknown as SupernodeRecord

describe('ownerTrackers', () => {
  it("announces to the owners' HTTP and WebSocket trackers, this relay standing for itself", () => {
    const placement = {
      local: true,
      owners: [record('aa', 'http://localhost:8080'), record('bb', 'https://b.example')],
    }
    expect(ownerTrackers(placement, 'aa', 'http://127.0.0.1:8080')).toEqual([
      'http://127.0.0.1:8080/announce',
      'ws://127.0.0.1:8080/',
      'https://b.example/announce',
      'wss://b.example/',
    ])
  })

  it('announces to its own trackers when it knows no owner', () => {
    expect(ownerTrackers({ local: true, owners: [] }, 'aa', 'http://r.example')).toEqual([
      'http://r.example/announce',
      'ws://r.example/',
    ])
  })
})

describe('bodyTrackers', () => {
  it('keeps public http, udp and ws trackers, at most 8, without duplicates', () => {
    const urls = Array.from({ length: 12 }, (_, i) => `udp://t${i}.tracker.org:6969/announce`)
    expect(bodyTrackers(['http://t.tracker.org/announce', ...urls], false)).toHaveLength(8)
    expect(bodyTrackers(['wss://a.tracker.org', 'wss://a.tracker.org'], false)).toEqual([
      'wss://a.tracker.org/',
    ])
  })

  it('drops loopback, private and odd trackers unless the network is local', () => {
    const bad = [
      'http://127.0.0.1:8080/announce',
      'http://192.168.1.1/announce',
      'http://localhost/announce',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'http://user:pw@t.tracker.org/announce',
      'not a url',
    ]
    expect(bodyTrackers(bad, false)).toEqual([])
    expect(bodyTrackers(bad.slice(0, 2), true)).toEqual(bad.slice(0, 2))
  })
})

describe('selfOrigin', () => {
  it('uses the listening address while the public URL names localhost', () => {
    expect(selfOrigin('http://localhost:8080', '0.0.0.0', 8080)).toBe('http://127.0.0.1:8080')
    expect(selfOrigin('http://localhost:8080', '127.0.0.2', 8080)).toBe('http://127.0.0.2:8080')
    expect(selfOrigin('https://relay.example.org', '0.0.0.0', 443)).toBe(
      'https://relay.example.org',
    )
  })
})
