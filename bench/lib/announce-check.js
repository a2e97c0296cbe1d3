// A by-hand check that a tracker answers real HTTP announces, so a benchmark never measures
// error pages: two peers announce on one hash; the second answer must be a bencoded
// dictionary with numeric `interval`, no `failure reason`, and compact `peers` (BEP 23)
// that include the first peer.

import { randomBytes } from 'node:crypto'
import { get } from 'node:http'
import bencode from 'bencode'
import { withDeadline } from './processes.js'

const TIMEOUT_MS = 5000

export function percentEncode(bytes) {
  let out = ''
  for (const b of bytes) {
    const c = String.fromCharCode(b)
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

function httpGet(port, path) {
  const request = new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
  return withDeadline(request, TIMEOUT_MS, `GET ${path.slice(0, 40)}`)
}

function announcePath(infoHash, peerId, port, left) {
  return (
    `/announce?info_hash=${percentEncode(infoHash)}&peer_id=${percentEncode(peerId)}` +
    `&port=${port}&uploaded=0&downloaded=0&left=${left}&compact=1&numwant=50`
  )
}

/**
 * Resolves once `port` accepts an announce for `infoHashHex` (sent with event=stopped, so it
 * adds no peer): opentracker reads its whitelist in the background after it starts
 * listening, and refuses every hash until then.
 */
export async function waitForAcceptedAnnounce(port, infoHashHex, timeoutMs) {
  const until = Date.now() + timeoutMs
  const path =
    announcePath(Buffer.from(infoHashHex, 'hex'), randomBytes(20), 40000, 0) + '&event=stopped'
  for (;;) {
    const { status, body } = await httpGet(port, path)
    if (status === 200 && !body.includes('failure reason')) return
    if (Date.now() > until) {
      throw new Error(`announces still refused after ${timeoutMs} ms: ${body.toString('latin1')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Throws with the reason when `port` does not answer announces correctly. */
export async function checkHttpAnnounce(port, infoHashHex) {
  const infoHash = Buffer.from(infoHashHex, 'hex')
  const first = await httpGet(port, announcePath(infoHash, randomBytes(20), 40001, 0))
  if (first.status !== 200) throw new Error(`first announce: HTTP ${first.status}`)
  if (first.body.includes('failure reason')) {
    throw new Error(`first announce refused: ${first.body.toString('latin1', 0, 120)}`)
  }
  const { status, body } = await httpGet(port, announcePath(infoHash, randomBytes(20), 40002, 1000))
  if (status !== 200) throw new Error(`announce: HTTP ${status}`)
  let dict
  try {
    dict = bencode.decode(body)
  } catch (err) {
    throw new Error(`announce: not bencoded (${err.message}): ${body.toString('latin1', 0, 80)}`)
  }
  if (dict['failure reason']) {
    throw new Error(`announce refused: ${Buffer.from(dict['failure reason']).toString()}`)
  }
  if (typeof dict.interval !== 'number') throw new Error('announce: no numeric interval')
  const peers = dict.peers
  if (!(peers instanceof Uint8Array) || peers.length === 0 || peers.length % 6 !== 0) {
    throw new Error(`announce: peers is not a non-empty compact list`)
  }
  const ports = []
  for (let i = 0; i < peers.length; i += 6) ports.push((peers[i + 4] << 8) | peers[i + 5])
  if (!ports.includes(40001)) throw new Error(`announce: first peer missing from ${ports}`)
  return { peers: peers.length / 6, bytes: body.length }
}
