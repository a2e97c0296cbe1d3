// A WebTorrent tracker announce over WebSocket (wss: verified against `ca`), for tests that
// check a relay's WebSocket tracker answers on a given port and certificate, or that need a
// browser seeder in a swarm.

import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'

/** A seeder's first announce of `infoHash` (random unless given), with no offers, as text. */
export function seederAnnounce(infoHash: Uint8Array = randomBytes(20)): string {
  return JSON.stringify({
    action: 'announce',
    info_hash: Buffer.from(infoHash).toString('latin1'),
    peer_id: randomBytes(20).toString('latin1'),
    numwant: 0,
    uploaded: 0,
    downloaded: 0,
    left: 0,
    event: 'started',
    offers: [],
  })
}

/** Sends one announce (no offers) to `url` and resolves with the first answer. */
export function wsAnnounce(url: string, ca?: string): Promise<Record<string, unknown>> {
  const ws = new WebSocket(url, ca ? { ca } : {})
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.once('error', reject)
    ws.once('open', () => ws.send(seederAnnounce()))
    ws.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>))
  }).finally(() => ws.close())
}
