// GET /metrics on a real relay process: a valid Prometheus text exposition (0.0.4) whose
// figures follow what happens on the relay's sockets (announces, peers, WebSockets).

import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { announcePath, binaryId } from './tracker-wire.ts'

const running: RelayProcess[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({ args })
  running.push(r)
  return r
}

/** `name{labels}` → value, read back line by line; comment lines kept apart. */
interface Scrape {
  contentType: string | null
  samples: Map<string, number>
  help: Set<string>
  types: Map<string, string>
}

const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})?) (\S+)$/

async function scrape(r: RelayProcess): Promise<Scrape> {
  const res = await fetch(`${r.url}/metrics`)
  expect(res.status).toBe(200)
  const text = await res.text()
  expect(text.endsWith('\n')).toBe(true)
  const out: Scrape = {
    contentType: res.headers.get('content-type'),
    samples: new Map(),
    help: new Set(),
    types: new Map(),
  }
  for (const line of text.trimEnd().split('\n')) {
    const help = /^# HELP (\S+) /.exec(line)
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    const sample = SAMPLE.exec(line)
    if (help) out.help.add(help[1])
    else if (type) out.types.set(type[1], type[2])
    else if (sample) out.samples.set(sample[1], Number(sample[2]))
    else throw new Error(`not an exposition line: ${line}`)
  }
  return out
}

describe('GET /metrics', () => {
  it('is Prometheus text with HELP and TYPE for every family, and the configured capacity', async () => {
    const r = await relay('--max-torrents', '500', '--max-peers', '2000')
    const m = await scrape(r)
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
    for (const name of [
      'monsoon_tracker_torrents',
      'monsoon_tracker_peers',
      'monsoon_tracker_seeders',
      'monsoon_tracker_leechers',
      'monsoon_tracker_announces_total',
      'monsoon_tracking_bandwidth_bytes_per_second',
      'monsoon_capacity_torrents',
      'monsoon_capacity_peers',
      'monsoon_capacity_bandwidth_bytes_per_second',
      'monsoon_load_ratio',
      'monsoon_catalog_listings',
      'monsoon_supernodes_known',
      'monsoon_hosts_known',
      'monsoon_websocket_connections',
      'monsoon_process_uptime_seconds',
      'monsoon_process_resident_memory_bytes',
    ]) {
      expect(m.help, name).toContain(name)
      expect(m.types.has(name), name).toBe(true)
    }
    expect(m.types.get('monsoon_tracker_announces_total')).toBe('counter')
    expect(m.samples.get('monsoon_capacity_torrents')).toBe(500)
    expect(m.samples.get('monsoon_capacity_peers')).toBe(2000)
    expect(m.samples.get('monsoon_tracker_torrents')).toBe(0)
    // The relay's own record: one supernode (the default role), no candidates yet.
    expect(m.samples.get('monsoon_supernodes_known{role="supernode"}')).toBe(1)
    expect(m.samples.get('monsoon_supernodes_known{role="candidate"}')).toBe(0)
    expect(m.samples.get('monsoon_process_resident_memory_bytes')).toBeGreaterThan(0)
  })

  it('counts HTTP and WebSocket announces and their peers, and the open WebSocket', async () => {
    const r = await relay('--max-peers', '4')
    const before = await scrape(r)
    expect(before.samples.get('monsoon_tracker_announces_total{transport="http"}')).toBe(0)
    expect(before.samples.get('monsoon_tracker_peers{kind="tcp"}')).toBe(0)

    const seeder = announcePath({ infoHash: binaryId(1), peerId: binaryId(2), left: 0 })
    const leecher = announcePath({ infoHash: binaryId(1), peerId: binaryId(3), left: 10 })
    for (const path of [seeder, leecher]) expect((await fetch(r.url + path)).status).toBe(200)
    // A malformed announce is refused before the tracker: not counted.
    await fetch(`${r.url}/announce?info_hash=short&peer_id=x&port=1`)

    const ws = new WebSocket(r.wsUrl)
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    try {
      const after = await scrape(r)
      expect(after.samples.get('monsoon_tracker_announces_total{transport="http"}')).toBe(2)
      expect(after.samples.get('monsoon_tracker_announces_total{transport="ws"}')).toBe(0)
      expect(after.samples.get('monsoon_tracker_torrents')).toBe(1)
      expect(after.samples.get('monsoon_tracker_peers{kind="tcp"}')).toBe(2)
      expect(after.samples.get('monsoon_tracker_seeders')).toBe(1)
      expect(after.samples.get('monsoon_tracker_leechers')).toBe(1)
      expect(after.samples.get('monsoon_websocket_connections')).toBe(1)
      // Two peers of a capacity of four: half full.
      expect(after.samples.get('monsoon_load_ratio')).toBe(0.5)

      // A WebTorrent announce (binary ids as latin1 strings) on the socket; its answer
      // means the tracker has counted it.
      const answered = new Promise((resolve) => ws.once('message', resolve))
      const bin = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1')
      ws.send(
        JSON.stringify({
          action: 'announce',
          info_hash: bin(binaryId(1)),
          peer_id: bin(binaryId(4)),
          left: 10,
          event: 'started',
          numwant: 0,
          offers: [],
        }),
      )
      await answered
      const rtc = await scrape(r)
      expect(rtc.samples.get('monsoon_tracker_announces_total{transport="ws"}')).toBe(1)
      expect(rtc.samples.get('monsoon_tracker_announces_total{transport="http"}')).toBe(2)
      expect(rtc.samples.get('monsoon_tracker_peers{kind="rtc"}')).toBe(1)
      expect(rtc.samples.get('monsoon_tracker_leechers')).toBe(2)
      expect(rtc.samples.get('monsoon_load_ratio')).toBe(0.75)
    } finally {
      ws.close()
    }
  })
})
