// A WebTorrent tracker announce over WebSocket (wss: verified against `ca`), for tests that
// check a relay's WebSocket tracker answers on a given port and certificate.

import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'

/** Sends one announce (no offers) to `url` and resolves with the first answer. */
export function wsAnnounce(url: string, ca?: string): Promise<Record<string, unknown>> {
  const ws = new WebSocket(url, ca ? { ca } : {})
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.once('error', reject)
    ws.once('open', () =>
      ws.send(
        JSON.stringify({
          action: 'announce',
          info_hash: randomBytes(20).toString('latin1'),
          peer_id: randomBytes(20).toString('latin1'),
          numwant: 0,
          uploaded: 0,
          downloaded: 0,
          left: 0,
          event: 'started',
          offers: [],
        }),
      ),
    )
    ws.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>))
  }).finally(() => ws.close())
}
