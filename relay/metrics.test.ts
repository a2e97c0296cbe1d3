import { describe, expect, it } from 'vitest'
import {
  encodeMetrics,
  escapeHelp,
  escapeLabelValue,
  formatValue,
  loadRatio,
  relayMetrics,
  swarmFigures,
  turnMetrics,
  type RelayFigures,
} from './metrics.ts'
import { Tracker } from './tracker/tracker.ts'

const FIGURES: RelayFigures = {
  torrents: 3,
  peers: { tcp: 4, rtc: 6 },
  seeders: 2,
  leechers: 8,
  announces: { http: 11, ws: 7 },
  bandwidthBytesPerSecond: 500,
  capacity: { maxTorrents: 100, maxPeers: 20, maxBandwidth: 1000 },
  listings: 5,
  supernodes: { supernode: 2, candidate: 1 },
  hosts: 4,
  role: 'supernode',
  election: { promoted: 1, conflicts: 0, accepted: 0, demoted: 0 },
  handoff: { sent: 2, failed: 0, received: 1, adopted: 9 },
  proxy: { proxied: 5, proxyFailures: 1, fallbacks: 0, replicas: 7, replicasDropped: 0 },
  websocketConnections: 6,
  uptimeSeconds: 42,
  residentMemoryBytes: 1234,
}

describe('encodeMetrics', () => {
  it('writes HELP, TYPE and one line per sample', () => {
    const text = encodeMetrics([
      {
        name: 'x_total',
        help: 'Things.',
        type: 'counter',
        samples: [{ labels: { kind: 'a', side: 'b' }, value: 3 }, { value: 1.5 }],
      },
    ])
    expect(text).toBe(
      '# HELP x_total Things.\n# TYPE x_total counter\nx_total{kind="a",side="b"} 3\nx_total 1.5\n',
    )
  })

  it('escapes backslash, double quote and line feed in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd')
    const text = encodeMetrics([
      {
        name: 'm',
        help: 'h',
        type: 'gauge',
        samples: [{ labels: { u: 'say "hi"\n\\' }, value: 1 }],
      },
    ])
    expect(text.split('\n')[2]).toBe('m{u="say \\"hi\\"\\n\\\\"} 1')
  })

  it('escapes backslash and line feed in HELP, not quotes', () => {
    expect(escapeHelp('a "b"\\\nc')).toBe('a "b"\\\\\\nc')
    const text = encodeMetrics([{ name: 'm', help: 'two\nlines', type: 'gauge', samples: [] }])
    expect(text).toBe('# HELP m two\\nlines\n# TYPE m gauge\n')
  })

  it('spells out infinities and NaN', () => {
    expect([Infinity, -Infinity, NaN, 0, -2.5].map(formatValue)).toEqual([
      '+Inf',
      '-Inf',
      'NaN',
      '0',
      '-2.5',
    ])
  })

  it('refuses names the format does not allow', () => {
    const family = (name: string, label = 'ok') => ({
      name,
      help: '',
      type: 'gauge' as const,
      samples: [{ labels: { [label]: 'v' }, value: 1 }],
    })
    expect(() => encodeMetrics([family('1bad')])).toThrow(TypeError)
    expect(() => encodeMetrics([family('bad-name')])).toThrow(TypeError)
    expect(() => encodeMetrics([family('good', 'bad-label')])).toThrow(TypeError)
    expect(() => encodeMetrics([family('good', '__reserved')])).toThrow(TypeError)
    expect(() => encodeMetrics([family('good:ns_1', 'le')])).not.toThrow()
  })
})

describe('relayMetrics', () => {
  it('names every figure once, in a valid exposition', () => {
    const text = encodeMetrics(relayMetrics(FIGURES))
    const lines = text.trimEnd().split('\n')
    for (const line of lines) {
      expect(line).toMatch(/^(# (HELP|TYPE) [a-z_]+ .*|[a-z_]+(\{[a-z]+="[a-z]+"\})? [0-9.e+-]+)$/)
    }
    expect(lines).toContain('monsoon_tracker_peers{kind="rtc"} 6')
    expect(lines).toContain('monsoon_tracker_announces_total{transport="http"} 11')
    expect(lines).toContain('# TYPE monsoon_tracker_announces_total counter')
    expect(lines).toContain('monsoon_supernodes_known{role="candidate"} 1')
    expect(lines).toContain('monsoon_process_resident_memory_bytes 1234')
    const types = lines.filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ')[2])
    expect(new Set(types).size).toBe(types.length)
  })

  it('reports load as the fullest of torrents, peers and tracking bandwidth', () => {
    // Peers 10 of 20 and bandwidth 500 of 1000 are both half; torrents 3 of 100 less.
    expect(loadRatio(FIGURES)).toBe(0.5)
    expect(loadRatio({ ...FIGURES, bandwidthBytesPerSecond: 2000 })).toBe(2)
    const none = { maxTorrents: 0, maxPeers: 0, maxBandwidth: 0 }
    expect(loadRatio({ ...FIGURES, capacity: none })).toBe(0)
  })

  it('counts relayed bandwidth (TURN) in the load as the election does', () => {
    const relaying = {
      ...FIGURES,
      relayedBytesPerSecond: 900,
      capacity: { ...FIGURES.capacity, maxRelayed: 1000 },
    }
    expect(loadRatio(relaying)).toBe(0.9)
    // An uncapped relay (0) adds nothing.
    expect(loadRatio({ ...relaying, capacity: { ...relaying.capacity, maxRelayed: 0 } })).toBe(0.5)
  })
})

describe('swarmFigures', () => {
  it('counts peers by kind, seeders and leechers over the tracker', () => {
    const tracker = new Tracker()
    const hash = (n: number) => String(n).repeat(40)
    const announce = (infoHash: string, id: string, kind: 'tcp' | 'rtc', left: number) =>
      tracker.announce(
        {
          kind,
          infoHash,
          peerId: id.padEnd(40, '0'),
          ip: '10.0.0.1',
          port: 6881,
          left,
          event: 'started',
          numwant: 0,
        },
        Date.now(),
      )
    announce(hash(1), 'a', 'tcp', 0)
    announce(hash(1), 'b', 'tcp', 10)
    announce(hash(2), 'c', 'rtc', 10)
    expect(swarmFigures(tracker.swarms.values())).toEqual({
      peers: { tcp: 2, rtc: 1 },
      seeders: 1,
      leechers: 2,
    })
    expect(swarmFigures([])).toEqual({ peers: { tcp: 0, rtc: 0 }, seeders: 0, leechers: 0 })
  })
})

describe('turnMetrics', () => {
  it('counts allocations by transport, relayed bytes and refusals by reason', () => {
    const text = encodeMetrics(
      turnMetrics({
        bindingRequests: 3,
        allocationsActive: { udp: 2, tcp: 1, tls: 0 },
        allocationsMade: 9,
        bytesToPeers: 1000,
        bytesToClients: 2000,
        droppedForBandwidth: 4,
        refused: { auth: 5, 'not-signalled': 1 },
        relayedBytesPerSecond: 300,
        maxAllocations: 1000,
        maxBandwidth: 0,
      }),
    )
    expect(text).toContain('monsoon_turn_allocations{transport="tcp"} 1\n')
    expect(text).toContain('monsoon_turn_relayed_bytes_total{direction="to_client"} 2000\n')
    expect(text).toContain('monsoon_turn_refusals_total{reason="not-signalled"} 1\n')
    expect(text).toContain('monsoon_capacity_turn_bandwidth_bytes_per_second 0\n')
    const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1])
    expect(new Set(names).size).toBe(names.length)
  })
})
