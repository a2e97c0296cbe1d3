// DoH load generator for bench/dns: CONNECTIONS keep-alive HTTP/1.1 connections, each
// sending RFC 8484 GETs back to back (one outstanding per connection) for SECONDS, cycling
// through the given queries. Every answer is checked for status 200 and the DNS message
// type; prints one JSON line: {requests, ok, bad, seconds, bytes}.
// Usage: node doh-load.js URL CONNECTIONS SECONDS BASE64URL_QUERY...

import { Agent, request } from 'node:http'

const [url, connections, seconds, ...queries] = process.argv.slice(2)
const agent = new Agent({ keepAlive: true, maxSockets: Number(connections) })
const target = new URL(url)
const until = performance.now() + Number(seconds) * 1000
const stats = { requests: 0, ok: 0, bad: 0, seconds: 0, bytes: 0 }
const started = performance.now()

function once(i) {
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}?dns=${queries[i % queries.length]}`,
        headers: { accept: 'application/dns-message' },
      },
      (res) => {
        let size = 0
        res.on('data', (c) => (size += c.length))
        res.on('end', () => {
          stats.requests++
          stats.bytes += size
          const good =
            res.statusCode === 200 && res.headers['content-type'] === 'application/dns-message'
          if (good) stats.ok++
          else stats.bad++
          resolve()
        })
      },
    )
    req.on('error', () => {
      stats.requests++
      stats.bad++
      resolve()
    })
    req.end()
  })
}

async function worker(w) {
  for (let i = w; performance.now() < until; i += Number(connections)) await once(i)
}

await Promise.all(Array.from({ length: Number(connections) }, (_, w) => worker(w)))
stats.seconds = (performance.now() - started) / 1000
agent.destroy()
process.stdout.write(JSON.stringify(stats) + '\n')
