import { describe, expect, it } from 'vitest'
import type { Torrent, Wire } from './engine/index.ts'
import type { FoundVia } from './mesh/types.ts'
import { FOUND_LABELS, MAX_PEER_ROWS, readPeerRows, type FoundViaOf } from './peer-rows.ts'

const id = (n: number) => n.toString(16).padStart(40, '0')

function wire(type: string, peerId?: string, extra: Partial<Wire> = {}): Wire {
  return {
    type,
    peerId,
    uploaded: 10,
    downloaded: 20,
    uploadSpeed: () => 1,
    downloadSpeed: () => 2,
    ...extra,
  }
}

/** Stats of a connection whose selected pair joins two host candidates. */
const hostReport = new Map<string, Record<string, unknown>>([
  ['T', { id: 'T', type: 'transport', selectedCandidatePairId: 'CP' }],
  ['CP', { id: 'CP', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R' }],
  ['L', { id: 'L', type: 'local-candidate', candidateType: 'host', protocol: 'udp' }],
  ['R', { id: 'R', type: 'remote-candidate', candidateType: 'host', address: '10.0.0.2', port: 5 }],
])

/** A torrent as WebTorrent holds it: its wires, and each WebRTC peer's connection in _peers. */
function torrentOf(wires: Wire[], stats: Map<Wire, () => Promise<unknown>> = new Map()): Torrent {
  const peers = new Map(
    [...stats].map(([w, getStats], i) => [String(i), { wire: w, conn: { _pc: { getStats } } }]),
  )
  return { wires, _peers: peers } as unknown as Torrent
}

describe('readPeerRows', () => {
  it('says how each wire was found, as the client tells it', async () => {
    const ways: FoundVia[] = ['relay tracker', 'mesh', 'bridge', 'direct']
    const wires = ways.map((_, i) => wire('webrtc', id(i + 1)))
    const torrent = torrentOf(wires)
    const asked: [Torrent, Wire][] = []
    const foundVia: FoundViaOf = (t, w) => {
      asked.push([t, w])
      return ways[wires.indexOf(w)] ?? 'direct'
    }
    const rows = await readPeerRows(torrent, foundVia)
    expect(rows.map((r) => r.found)).toEqual(ways)
    expect(asked).toEqual(wires.map((w) => [torrent, w]))
    expect(ways.every((w) => FOUND_LABELS[w])).toBe(true)
  })

  it('reads a WebRTC path off its stats, and keeps it unknown when they fail', async () => {
    const good = wire('webrtc', id(1))
    const failing = wire('webrtc', id(2))
    const torrent = torrentOf(
      [good, failing],
      new Map([
        [good, async () => hostReport],
        [failing, () => Promise.reject(new Error('closed'))],
      ]),
    )
    const [a, b] = await readPeerRows(torrent, () => 'mesh')
    expect(a?.path.kind).toBe('host')
    expect(a?.address).toBe('10.0.0.2:5')
    expect(b?.path.kind).toBe('unknown')
    expect(b?.address).toBeNull()
  })

  it('shows a classic wire by its address, and a wire with no peer id by its place', async () => {
    const tcp = wire('tcpOutgoing', undefined, { remoteAddress: '192.0.2.1', remotePort: 6881 })
    const rows = await readPeerRows(torrentOf([tcp]), () => 'direct')
    expect(rows[0]).toMatchObject({
      key: '#0',
      address: '192.0.2.1:6881',
      found: 'direct',
      uploaded: 10,
      downloaded: 20,
      uploadSpeed: 1,
      downloadSpeed: 2,
    })
    expect(rows[0]?.path.kind).toBe('tcp')
  })

  it('reads at most MAX_PEER_ROWS wires', async () => {
    let calls = 0
    const wires = Array.from({ length: MAX_PEER_ROWS + 30 }, (_, i) => wire('webrtc', id(i + 1)))
    const rows = await readPeerRows(torrentOf(wires), () => {
      calls++
      return 'relay tracker'
    })
    expect(rows).toHaveLength(MAX_PEER_ROWS)
    expect(calls).toBe(MAX_PEER_ROWS)
  })
})
