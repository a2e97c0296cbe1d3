// The relay's figures for GET /metrics, in the Prometheus text exposition format, version
// 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format).
// A pure encoder: metric families in, text out. Reading the figures off the running relay
// is `relayMetrics`, which takes plain numbers so it too can be tested without a socket.

import { loadShare } from '../shared/supernode.ts'

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export type MetricType = 'counter' | 'gauge'

export interface Sample {
  labels?: Record<string, string>
  value: number
}

export interface MetricFamily {
  name: string
  help: string
  type: MetricType
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** Label values escape `\`, `"` and line feeds (exposition format, "Text format details"). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** HELP text escapes `\` and line feeds only. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

/** A sample value as Go's ParseFloat reads it: `+Inf`, `-Inf`, `NaN` spelled out. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

/** Encodes families in order; throws TypeError for a name the format does not allow. */
export function encodeMetrics(families: readonly MetricFamily[]): string {
  let out = ''
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new TypeError(`bad metric name: ${family.name}`)
    out += `# HELP ${family.name} ${escapeHelp(family.help)}\n`
    out += `# TYPE ${family.name} ${family.type}\n`
    for (const sample of family.samples) {
      out += `${family.name}${encodeLabels(sample.labels)} ${formatValue(sample.value)}\n`
    }
  }
  return out
}

function encodeLabels(labels: Record<string, string> | undefined): string {
  if (!labels) return ''
  const pairs = Object.entries(labels).map(([name, value]) => {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) {
      throw new TypeError(`bad label name: ${name}`)
    }
    return `${name}="${escapeLabelValue(value)}"`
  })
  return pairs.length ? `{${pairs.join(',')}}` : ''
}

/** What the relay knows at scrape time, as plain numbers. */
export interface RelayFigures {
  torrents: number
  peers: { tcp: number; rtc: number }
  seeders: number
  leechers: number
  announces: { http: number; ws: number }
  bandwidthBytesPerSecond: number
  /** Bytes/s relayed for browsers (TURN) lately; absent when TURN is off. */
  relayedBytesPerSecond?: number
  capacity: {
    maxTorrents: number
    maxPeers: number
    maxBandwidth: number
    /** --turn-max-bandwidth; absent when TURN is off. */
    maxRelayed?: number
  }
  listings: number
  /** Live supernode records known (own one included), by role. */
  supernodes: { supernode: number; candidate: number }
  hosts: number
  /** This relay's role now. */
  role: 'supernode' | 'candidate'
  /** Election events here (relay/supernode/election.ts). */
  election: { promoted: number; conflicts: number; accepted: number; demoted: number }
  /** Swarm handoff batches sent and taken (relay/supernode/handoff.ts). */
  handoff: { sent: number; failed: number; received: number; adopted: number }
  /** Classic announces answered through owners (relay/supernode/announce-proxy.ts). */
  proxy: {
    proxied: number
    proxyFailures: number
    fallbacks: number
    replicas: number
    replicasDropped: number
  }
  websocketConnections: number
  uptimeSeconds: number
  residentMemoryBytes: number
}

/** The peers of one kind in a swarm, as relay/tracker/swarm.ts keeps them. */
interface PeerCounts {
  readonly size: number
  readonly seeders: { readonly length: number }
}

/** Peers by kind, seeders and leechers over every swarm: one pass, no allocation. */
export function swarmFigures(
  swarms: Iterable<{ readonly tcp: PeerCounts; readonly rtc: PeerCounts }>,
): Pick<RelayFigures, 'peers' | 'seeders' | 'leechers'> {
  let tcp = 0
  let rtc = 0
  let seeders = 0
  for (const swarm of swarms) {
    tcp += swarm.tcp.size
    rtc += swarm.rtc.size
    seeders += swarm.tcp.seeders.length + swarm.rtc.seeders.length
  }
  return { peers: { tcp, rtc }, seeders, leechers: tcp + rtc - seeders }
}

/** The relay's load share (shared/supernode.ts loadShare, what its election judges by): the
 * fullest of torrents, peers, tracking and relayed bandwidth over capacity; 1 means full. */
export function loadRatio(f: RelayFigures): number {
  return loadShare({
    load: {
      hashes: f.torrents,
      peers: f.peers.tcp + f.peers.rtc,
      bandwidth: f.bandwidthBytesPerSecond,
      relay: f.relayedBytesPerSecond,
    },
    capacity: {
      maxHashes: f.capacity.maxTorrents,
      maxPeers: f.capacity.maxPeers,
      bandwidth: f.capacity.maxBandwidth,
      relay: f.capacity.maxRelayed,
    },
  })
}

export function relayMetrics(f: RelayFigures): MetricFamily[] {
  const gauge = (name: string, help: string, samples: Sample[]): MetricFamily => ({
    name,
    help,
    type: 'gauge',
    samples,
  })
  const counter = (name: string, help: string, samples: Sample[]): MetricFamily => ({
    name,
    help,
    type: 'counter',
    samples,
  })
  const one = (value: number): Sample[] => [{ value }]
  return [
    gauge('monsoon_tracker_torrents', 'Info hashes tracked.', one(f.torrents)),
    gauge('monsoon_tracker_peers', 'Peers tracked, by kind (tcp: HTTP tracker; rtc: WebRTC).', [
      { labels: { kind: 'tcp' }, value: f.peers.tcp },
      { labels: { kind: 'rtc' }, value: f.peers.rtc },
    ]),
    gauge('monsoon_tracker_seeders', 'Peers that have every piece.', one(f.seeders)),
    gauge('monsoon_tracker_leechers', 'Peers still downloading.', one(f.leechers)),
    {
      name: 'monsoon_tracker_announces_total',
      help: 'Announces received, by transport.',
      type: 'counter',
      samples: [
        { labels: { transport: 'http' }, value: f.announces.http },
        { labels: { transport: 'ws' }, value: f.announces.ws },
      ],
    },
    gauge(
      'monsoon_tracking_bandwidth_bytes_per_second',
      'Bytes per second spent on tracking, averaged over the last seconds.',
      one(f.bandwidthBytesPerSecond),
    ),
    gauge('monsoon_capacity_torrents', 'Most info hashes tracked.', one(f.capacity.maxTorrents)),
    gauge('monsoon_capacity_peers', 'Most peers tracked.', one(f.capacity.maxPeers)),
    gauge(
      'monsoon_capacity_bandwidth_bytes_per_second',
      'Bytes per second given to tracking.',
      one(f.capacity.maxBandwidth),
    ),
    gauge(
      'monsoon_load_ratio',
      'Highest of torrents, peers, tracking and relayed bandwidth over capacity (1 = full).',
      one(loadRatio(f)),
    ),
    gauge('monsoon_catalog_listings', 'Listings in the catalog store.', one(f.listings)),
    gauge('monsoon_supernodes_known', 'Live supernode records known, own included, by role.', [
      { labels: { role: 'supernode' }, value: f.supernodes.supernode },
      { labels: { role: 'candidate' }, value: f.supernodes.candidate },
    ]),
    gauge('monsoon_hosts_known', 'Relay URLs in the host cache.', one(f.hosts)),
    gauge('monsoon_role', "This relay's role: 1 for the one it has.", [
      { labels: { role: 'supernode' }, value: f.role === 'supernode' ? 1 : 0 },
      { labels: { role: 'candidate' }, value: f.role === 'candidate' ? 1 : 0 },
    ]),
    counter('monsoon_election_events_total', 'Election events at this relay, by event.', [
      { labels: { event: 'promoted' }, value: f.election.promoted },
      { labels: { event: 'conflict' }, value: f.election.conflicts },
      { labels: { event: 'accepted' }, value: f.election.accepted },
      { labels: { event: 'demoted' }, value: f.election.demoted },
    ]),
    counter('monsoon_handoff_batches_total', 'Swarm handoff batches, by outcome.', [
      { labels: { outcome: 'sent' }, value: f.handoff.sent },
      { labels: { outcome: 'failed' }, value: f.handoff.failed },
      { labels: { outcome: 'received' }, value: f.handoff.received },
    ]),
    counter(
      'monsoon_handoff_peers_adopted_total',
      'Peers taken over by handoff.',
      one(f.handoff.adopted),
    ),
    counter(
      'monsoon_proxy_announces_total',
      'Classic announces for hashes owned elsewhere (proxied: an owner answered; failed: an owner did not; local: none did, answered here).',
      [
        { labels: { outcome: 'proxied' }, value: f.proxy.proxied },
        { labels: { outcome: 'failed' }, value: f.proxy.proxyFailures },
        { labels: { outcome: 'local' }, value: f.proxy.fallbacks },
      ],
    ),
    counter('monsoon_proxy_copies_total', "Announces copied to a hash's other owner, by outcome.", [
      { labels: { outcome: 'sent' }, value: f.proxy.replicas },
      { labels: { outcome: 'dropped' }, value: f.proxy.replicasDropped },
    ]),
    gauge(
      'monsoon_websocket_connections',
      'Open WebSocket tracker connections.',
      one(f.websocketConnections),
    ),
    gauge(
      'monsoon_process_uptime_seconds',
      'Seconds since the relay started.',
      one(f.uptimeSeconds),
    ),
    gauge(
      'monsoon_process_resident_memory_bytes',
      'Resident set size of the relay process.',
      one(f.residentMemoryBytes),
    ),
  ]
}

/** The STUN/TURN server's counters (relay/turn/turn-server.ts TurnStats), and its caps. */
export interface TurnFigures {
  bindingRequests: number
  allocationsActive: Record<string, number>
  allocationsMade: number
  bytesToPeers: number
  bytesToClients: number
  droppedForBandwidth: number
  refused: Record<string, number>
  /** Bytes/s relayed lately, both ways. */
  relayedBytesPerSecond: number
  maxAllocations: number
  /** --turn-max-bandwidth (0: no cap). */
  maxBandwidth: number
}

/** /metrics families of STUN and TURN: allocations, relayed bytes, every refusal by reason. */
export function turnMetrics(f: TurnFigures): MetricFamily[] {
  const labelled = (label: string, values: Record<string, number>): Sample[] =>
    Object.entries(values).map(([key, value]) => ({ labels: { [label]: key }, value }))
  return [
    {
      name: 'monsoon_stun_binding_requests_total',
      help: 'STUN Binding requests answered.',
      type: 'counter',
      samples: [{ value: f.bindingRequests }],
    },
    {
      name: 'monsoon_turn_allocations',
      help: "TURN allocations open, by the client's transport (udp, tcp, tls).",
      type: 'gauge',
      samples: labelled('transport', f.allocationsActive),
    },
    {
      name: 'monsoon_turn_allocations_total',
      help: 'TURN allocations made.',
      type: 'counter',
      samples: [{ value: f.allocationsMade }],
    },
    {
      name: 'monsoon_turn_relayed_bytes_total',
      help: 'Bytes relayed, by direction (to_peer: from a client out; to_client: back in).',
      type: 'counter',
      samples: [
        { labels: { direction: 'to_peer' }, value: f.bytesToPeers },
        { labels: { direction: 'to_client' }, value: f.bytesToClients },
      ],
    },
    {
      name: 'monsoon_turn_relayed_bytes_per_second',
      help: 'Bytes per second relayed lately, both directions.',
      type: 'gauge',
      samples: [{ value: f.relayedBytesPerSecond }],
    },
    {
      name: 'monsoon_turn_dropped_packets_total',
      help: 'Relayed packets dropped because --turn-max-bandwidth was spent.',
      type: 'counter',
      samples: [{ value: f.droppedForBandwidth }],
    },
    {
      name: 'monsoon_turn_refusals_total',
      help: 'TURN requests refused, by reason.',
      type: 'counter',
      samples: labelled('reason', f.refused),
    },
    {
      name: 'monsoon_capacity_turn_allocations',
      help: 'Most TURN allocations at once (--turn-max-allocations).',
      type: 'gauge',
      samples: [{ value: f.maxAllocations }],
    },
    {
      name: 'monsoon_capacity_turn_bandwidth_bytes_per_second',
      help: 'Bytes per second relayed at most (--turn-max-bandwidth; 0: no cap).',
      type: 'gauge',
      samples: [{ value: f.maxBandwidth }],
    },
  ]
}
