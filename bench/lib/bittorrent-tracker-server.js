// The reference: bittorrent-tracker@11's Server, HTTP and WebSocket trackers on one port of
// 127.0.0.1 (UDP off, /stats off), run as its own process. Prints
// {"msg":"listening","port":N} on stdout once it accepts connections; SIGTERM stops it.

import { Server } from 'bittorrent-tracker'

const server = new Server({ http: true, ws: true, udp: false, stats: false })
const warnings = new Map()
// Rejected requests and send errors are 'warning's: counted by message, shown at exit.
server.on('warning', (err) => warnings.set(err.message, (warnings.get(err.message) ?? 0) + 1))
server.on('error', (err) => {
  process.stderr.write(`error: ${err.message}\n`)
  process.exit(1)
})
server.listen(0, '127.0.0.1', () => {
  const { port } = server.http.address()
  process.stdout.write(JSON.stringify({ msg: 'listening', port }) + '\n')
})

const stop = () => {
  for (const [message, n] of warnings) process.stderr.write(`warning x${n}: ${message}\n`)
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
