// The floor under any Node tracker: a bare `net` server that answers every request with one
// fixed announce answer (a bencoded dictionary with one compact peer), and closes when the
// client asked it to. No parsing, no swarm: what one Node thread spends on a connection's
// accept, read, write and close, to set our relay's figures against. Prints
// {"msg":"listening","port":N} once it accepts connections; SIGTERM stops it.

import { createServer } from 'node:net'

const BODY = Buffer.concat([
  Buffer.from('d8:completei1e10:incompletei1e8:intervali600e12:min intervali300e5:peers6:'),
  Buffer.from([127, 0, 0, 1, 0x1a, 0xe1]),
  Buffer.from('e'),
])
const answer = (connection) =>
  Buffer.concat([
    Buffer.from(
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\n` +
        `Connection: ${connection}\r\n\r\n`,
    ),
    BODY,
  ])
const CLOSE = answer('close')
const KEEP = answer('keep-alive')

const server = createServer((socket) => {
  socket.on('error', () => socket.destroy())
  socket.on('data', (chunk) => {
    // wrk writes each request whole, in one read; `Connection: close` is in its head.
    if (!chunk.includes('Connection: close')) {
      socket.write(KEEP)
      return
    }
    // Closed at once when the kernel took the whole answer, as our relay's fast path does.
    if (socket.write(CLOSE) && socket.writableLength === 0) socket.destroy()
    else socket.end()
  })
})
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(JSON.stringify({ msg: 'listening', port: server.address().port }) + '\n')
})
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))
