import { describe, expect, it } from 'vitest'
import { classifyPath, wirePath, type PathKind } from './peer-path.ts'

type Stat = Record<string, unknown>

/** A report shaped as Chromium's getStats() gives it for a connected data-channel-only peer
 * connection: certificates, the data channel, a transport naming its selected pair, that
 * pair and a pair still checking, and their candidates. */
function chromiumReport(
  local: Stat,
  remote: Stat,
  opts: { selected?: boolean; nominated?: boolean } = {},
): Map<string, Stat> {
  const { selected = true, nominated = true } = opts
  const entries: Stat[] = [
    { id: 'CFa1', type: 'certificate', fingerprintAlgorithm: 'sha-256', fingerprint: 'AA:BB' },
    { id: 'D1', type: 'data-channel', label: 'a1b2', state: 'open', messagesSent: 12 },
    { id: 'P', type: 'peer-connection', dataChannelsOpened: 1, dataChannelsClosed: 0 },
    {
      id: 'T01',
      type: 'transport',
      bytesSent: 91_000,
      bytesReceived: 8_400_000,
      dtlsState: 'connected',
      iceRole: 'controlling',
      iceState: 'connected',
      ...(selected && { selectedCandidatePairId: 'CPlocal1_remote1' }),
      selectedCandidatePairChanges: 1,
      tlsVersion: 'FEFD',
      dtlsCipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    },
    {
      id: 'CPlocal1_remote1',
      type: 'candidate-pair',
      transportId: 'T01',
      localCandidateId: 'Ilocal1',
      remoteCandidateId: 'Iremote1',
      state: 'succeeded',
      nominated,
      writable: true,
      bytesSent: 91_000,
      bytesReceived: 8_400_000,
      currentRoundTripTime: 0.001,
      packetsDiscardedOnSend: 0,
    },
    // The host pair of a relayed connection, whose checks failed: never the answer.
    {
      id: 'CPlocal2_remote2',
      type: 'candidate-pair',
      transportId: 'T01',
      localCandidateId: 'Ilocal2',
      remoteCandidateId: 'Iremote2',
      state: 'failed',
      nominated: false,
      writable: false,
    },
    { id: 'Ilocal1', type: 'local-candidate', transportId: 'T01', isRemote: false, ...local },
    { id: 'Iremote1', type: 'remote-candidate', transportId: 'T01', isRemote: true, ...remote },
    {
      id: 'Ilocal2',
      type: 'local-candidate',
      candidateType: 'host',
      protocol: 'udp',
      address: '10.0.0.5',
      port: 50_000,
    },
    {
      id: 'Iremote2',
      type: 'remote-candidate',
      candidateType: 'host',
      protocol: 'udp',
      address: 'c0ffee00-1234-4abc-8def-000000000000.local',
      port: 50_001,
    },
  ]
  return new Map(entries.map((s) => [s.id as string, s]))
}

const host = (address: string) => ({ candidateType: 'host', protocol: 'udp', address, port: 5000 })
const srflx = { candidateType: 'srflx', protocol: 'udp', address: '203.0.113.7', port: 6000 }
const prflx = { candidateType: 'prflx', protocol: 'udp', address: '198.51.100.9', port: 6001 }
const relay = (relayProtocol: string) => ({
  candidateType: 'relay',
  protocol: 'udp',
  relayProtocol,
  address: '192.0.2.1',
  port: 49_152,
  url: `turn${relayProtocol === 'tls' ? 's' : ''}:relay.example:3478?transport=${relayProtocol === 'udp' ? 'udp' : 'tcp'}`,
})

describe('classifyPath', () => {
  const cases: [string, Stat, Stat, PathKind][] = [
    ['two hosts on a LAN (or loopback)', host('127.0.0.1'), host('127.0.0.1'), 'host'],
    ['our NAT, their host', srflx, host('10.1.1.1'), 'srflx'],
    ['their NAT, learnt from their checks', host('10.0.0.5'), prflx, 'srflx'],
    ['both behind NATs', srflx, srflx, 'srflx'],
    ['relayed over UDP', relay('udp'), srflx, 'relay-udp'],
    ['relayed over TCP', relay('tcp'), srflx, 'relay-tcp'],
    ['relayed over TLS', relay('tls'), host('10.1.1.1'), 'relay-tls'],
    ['both relayed: ours counts', relay('tcp'), relay('udp'), 'relay-tcp'],
    ['relayed on their side only', srflx, relay('udp'), 'remote-relay'],
  ]
  for (const [what, local, remote, kind] of cases) {
    it(what, () => expect(classifyPath(chromiumReport(local, remote)).kind).toBe(kind))
  }

  it("gives the peer's end of the path", () => {
    expect(classifyPath(chromiumReport(host('127.0.0.1'), host('127.0.0.1'))).remote).toBe(
      '127.0.0.1:5000',
    )
    expect(classifyPath(chromiumReport(srflx, host('fd00::1'))).remote).toBe('[fd00::1]:5000')
  })

  it('names the TURN server of a relayed path', () => {
    expect(classifyPath(chromiumReport(relay('tls'), srflx)).via).toBe(
      'turns:relay.example:3478?transport=tcp',
    )
    expect(classifyPath(chromiumReport(srflx, srflx)).via).toBeNull()
  })

  it('takes the nominated succeeded pair when the transport names none', () => {
    const report = chromiumReport(relay('udp'), srflx, { selected: false })
    expect(classifyPath(report).kind).toBe('relay-udp')
    const checking = chromiumReport(relay('udp'), srflx, { selected: false, nominated: false })
    expect(classifyPath(checking).kind).toBe('unknown')
  })

  it('says unknown for a connection still starting, or stats it cannot read', () => {
    expect(classifyPath(new Map()).kind).toBe('unknown')
    const broken = chromiumReport(host('a'), host('b'))
    broken.delete('Iremote1')
    expect(classifyPath(broken).kind).toBe('unknown')
    const odd = chromiumReport({ candidateType: 'mystery' }, host('b'))
    expect(classifyPath(odd).kind).toBe('unknown')
    const junk = new Map<string, unknown>([
      ['T01', { type: 'transport', selectedCandidatePairId: 'Ilocal1' }],
      ['Ilocal1', null],
      ['x', 42],
    ])
    expect(classifyPath(junk).kind).toBe('unknown')
  })

  it('defaults a relay candidate without relayProtocol to UDP, and knows no others', () => {
    const { relayProtocol: _, ...bare } = relay('udp')
    expect(classifyPath(chromiumReport(bare, srflx)).kind).toBe('relay-udp')
    expect(classifyPath(chromiumReport(relay('sctp'), srflx)).kind).toBe('unknown')
  })

  it('says TCP for ICE over TCP (a network that blocks UDP, no relay)', () => {
    const tcpHost = { ...host('10.0.0.5'), protocol: 'tcp', tcpType: 'active' }
    expect(classifyPath(chromiumReport(tcpHost, host('10.0.0.6'))).kind).toBe('tcp')
  })
})

describe('wirePath', () => {
  it('marks classic TCP wires, and nothing else', () => {
    expect(wirePath('tcpIncoming').kind).toBe('tcp')
    expect(wirePath('tcpOutgoing').kind).toBe('tcp')
    expect(wirePath('webSeed').kind).toBe('unknown')
  })
})
