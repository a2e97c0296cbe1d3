// The stock `bittorrent-tracker` client as the WebSocket tracker tests run it: a fresh peer id,
// loopback-only WebRTC (loopback-rtc.ts), and its warnings and errors collected rather than
// thrown, so a test can assert what the tracker told it.

import { randomBytes } from 'node:crypto'
import Client from 'bittorrent-tracker'
import { LOOPBACK_RTC_CONFIG } from './loopback-rtc.ts'

export function trackerClient(announce: string, infoHash: string) {
  const peerId = randomBytes(20).toString('hex')
  const client = new Client({
    infoHash,
    peerId,
    announce: [announce],
    port: 6881,
    rtcConfig: LOOPBACK_RTC_CONFIG,
  })
  const warnings: string[] = []
  client.on('warning', (err: Error) => warnings.push(err.message))
  client.on('error', (err: Error) => warnings.push(`error: ${err.message}`))
  return { client, peerId, warnings }
}
