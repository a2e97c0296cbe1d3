// What a page said to its WebSocket trackers and heard back, one line per frame, for a test
// to attach when it fails: which trackers each torrent announced to, with which event, and
// whether offers and answers went both ways. A stalled download is explained by this and
// nothing else the page shows.

import type { Page } from '@playwright/test'

/** The first 8 hex digits of a binary string (info hashes, offer ids), or '-'. */
const short = (value: unknown) =>
  typeof value === 'string' ? Buffer.from(value, 'latin1').toString('hex').slice(0, 8) : '-'

/** Appends a line to `log` for each socket opened or closed and each frame, from `page`. */
export function recordTrackerTraffic(page: Page, who: string, log: string[], t0: number): void {
  const at = () => String(Date.now() - t0).padStart(6)
  page.on('websocket', (ws) => {
    const url = ws.url()
    log.push(`${at()} ${who} open ${url}`)
    ws.on('close', () => log.push(`${at()} ${who} close ${url}`))
    const frame = (dir: string) => (f: { payload: string | Buffer }) => {
      let m: Record<string, unknown>
      try {
        m = JSON.parse(String(f.payload)) as Record<string, unknown>
      } catch {
        log.push(`${at()} ${who} ${dir} ${url} (not JSON)`)
        return
      }
      const offers = Array.isArray(m.offers) ? m.offers.length : ''
      const fields = [
        `${m.action}`,
        `ih=${short(m.info_hash)}`,
        m.event ? `event=${String(m.event)}` : '',
        m.left !== undefined ? `left=${String(m.left)}` : '',
        offers !== '' ? `offers=${offers}` : '',
        m.offer ? `offer=${short(m.offer_id)}` : '',
        m.answer ? `answer=${short(m.offer_id)}` : '',
        m.peer_id ? `from=${short(String(m.peer_id).slice(-4))}` : '',
        m.to_peer_id ? `to=${short(String(m.to_peer_id).slice(-4))}` : '',
        m['failure reason'] ? `failure="${String(m['failure reason'])}"` : '',
        m['warning message'] ? `warning="${String(m['warning message'])}"` : '',
        m.complete !== undefined ? `seeds=${String(m.complete)}` : '',
        m.incomplete !== undefined ? `leechers=${String(m.incomplete)}` : '',
      ]
      log.push(`${at()} ${who} ${dir} ${url} ${fields.filter(Boolean).join(' ')}`)
    }
    ws.on('framesent', frame('>'))
    ws.on('framereceived', frame('<'))
  })
}
