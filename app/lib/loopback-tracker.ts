// For tests only: a WebSocket tracker on 127.0.0.1 (port 0) that answers every announce with
// an empty swarm, for running torrents of the real WebTorrent bundle without a relay.

import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'

export interface LoopbackTracker {
  /** `127.0.0.1:port` */
  host: string
  /** As a relay's http origin, and as its tracker URL (trackers.ts spells them so). */
  relay: string
  tracker: string
  /** `started` announces received so far. */
  started: number
  /** Announces of any event (or none) received so far. */
  announces: number
  close(): Promise<void>
}

export async function loopbackTracker(): Promise<LoopbackTracker> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await once(server, 'listening')
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  const self: LoopbackTracker = {
    host,
    relay: `http://${host}`,
    tracker: `ws://${host}/`,
    started: 0,
    announces: 0,
    close: async () => {
      for (const socket of server.clients) socket.terminate()
      await new Promise((resolve) => server.close(resolve))
    },
  }
  server.on('connection', (socket) =>
    socket.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { action: string; info_hash: string; event?: string }
      if (msg.action !== 'announce') return
      self.announces++
      if (msg.event === 'started') self.started++
      // With `complete` set: the stock client reports only such answers ('trackerAnnounce').
      const answer = { action: 'announce', info_hash: msg.info_hash, interval: 120 }
      socket.send(JSON.stringify({ ...answer, complete: 0, incomplete: 1 }))
    }),
  )
  return self
}
