// Which way a peer's bytes travel, from its WebRTC connection's stats (W3C webrtc-stats:
// RTCTransportStats.selectedCandidatePairId, RTCIceCandidatePairStats, RTCIceCandidateStats
// candidateType and relayProtocol). Pure: the stats report comes in as Chromium gives it.
//
// ICE candidate types (RFC 8445 §5.1.1): `host` is an address of the machine itself; `srflx`
// (server reflexive, learnt from STUN) and `prflx` (peer reflexive, learnt from the peer's
// checks) are a NAT's public side; `relay` is an address on a TURN server (RFC 8656), which
// then carries every byte.

/** The values of the peer table's data-path attribute (tests assert on them). */
export type PathKind =
  'host' | 'srflx' | 'relay-udp' | 'relay-tcp' | 'relay-tls' | 'remote-relay' | 'tcp' | 'unknown'

export interface PeerPath {
  kind: PathKind
  /** For a path relayed on our side: the TURN server's URL, as the stats name it. */
  via: string | null
  /** The peer's end of the path (its candidate's address and port), when the stats say. */
  remote: string | null
}

export const PATH_LABELS: Record<PathKind, string> = {
  host: 'Direct',
  srflx: 'Direct through NAT',
  'relay-udp': 'Relayed (UDP)',
  'relay-tcp': 'Relayed (TCP)',
  'relay-tls': 'Relayed (TLS)',
  'remote-relay': 'Relayed by the other side',
  tcp: 'TCP',
  unknown: 'Not known yet',
}

type Stat = Record<string, unknown>
/** What RTCPeerConnection.getStats() resolves to (an RTCStatsReport is a maplike). */
export type StatsReport = Pick<ReadonlyMap<string, unknown>, 'get' | 'values'>

const UNKNOWN: PeerPath = { kind: 'unknown', via: null, remote: null }

/** The candidate pair the connection uses: the transport's selected pair, else the nominated
 * pair whose checks succeeded, else null (still connecting). */
export function selectedPair(report: StatsReport): Stat | null {
  const stats = [...report.values()].filter(isStat)
  for (const s of stats) {
    if (s.type !== 'transport' || typeof s.selectedCandidatePairId !== 'string') continue
    const pair = report.get(s.selectedCandidatePairId)
    if (isStat(pair) && pair.type === 'candidate-pair') return pair
  }
  const succeeded = stats.filter((s) => s.type === 'candidate-pair' && s.state === 'succeeded')
  return succeeded.find((s) => s.nominated === true) ?? null
}

/** The path of a WebRTC connection, from its stats. */
export function classifyPath(report: StatsReport): PeerPath {
  const pair = selectedPair(report)
  if (!pair) return UNKNOWN
  const local = candidate(report, pair.localCandidateId, 'local-candidate')
  const remote = candidate(report, pair.remoteCandidateId, 'remote-candidate')
  if (!local || !remote) return UNKNOWN
  const path = (kind: PathKind, via: string | null = null): PeerPath => ({
    kind,
    via,
    remote: endpoint(remote),
  })
  if (local.candidateType === 'relay') {
    // Chromium gives relayProtocol on every relay candidate; without it, TURN's default, UDP.
    const protocol = local.relayProtocol ?? 'udp'
    const known = protocol === 'udp' || protocol === 'tcp' || protocol === 'tls'
    if (!known) return UNKNOWN
    return path(`relay-${protocol}`, typeof local.url === 'string' ? local.url.slice(0, 300) : null)
  }
  if (remote.candidateType === 'relay') return path('remote-relay')
  // ICE over TCP (RFC 6544), as a UDP-blocking network leaves it: direct, but on TCP.
  if (local.protocol === 'tcp') return path('tcp')
  const types = [local.candidateType, remote.candidateType]
  if (types.some((t) => t === 'srflx' || t === 'prflx')) return path('srflx')
  if (types.every((t) => t === 'host')) return path('host')
  return UNKNOWN
}

/** The path of a wire that is not WebRTC: a classic client's TCP connection, else unknown
 * (a web seed). */
export function wirePath(wireType: string): PeerPath {
  return wireType.startsWith('tcp') ? { kind: 'tcp', via: null, remote: null } : UNKNOWN
}

/** `address:port` of a candidate (an IPv6 address in brackets); untrusted: text only. */
function endpoint(c: Stat): string | null {
  const { address, port } = c
  if (typeof address !== 'string' || !address || address.length > 100) return null
  const host = address.includes(':') ? `[${address}]` : address
  return typeof port === 'number' ? `${host}:${port}` : host
}

function candidate(report: StatsReport, id: unknown, type: string): Stat | null {
  if (typeof id !== 'string') return null
  const s = report.get(id)
  return isStat(s) && s.type === type ? s : null
}

function isStat(value: unknown): value is Stat {
  return typeof value === 'object' && value !== null
}
