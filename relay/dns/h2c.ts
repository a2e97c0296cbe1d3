// DoH over cleartext HTTP/2 on the relay's one port. dig (`+http-plain`) and other DoH
// clients speak HTTP/2 only (RFC 8484 §5.2 says HTTP/2 is the minimum recommended), with
// prior knowledge when there is no TLS (RFC 9113 §3.3), while the relay's node:http server
// speaks HTTP/1.1. That server stops at the HTTP/2 connection preface with a clientError
// (HPE_PAUSED_H2_UPGRADE) carrying the bytes it read; `handOff` then gives the connection,
// those bytes first, to a node:http2 server that answers /dns-query and nothing else.
// The http2 server reads through a JS stream here, as the HTTP/1 parser has the socket.
//
// Bounds: concurrent streams and session memory are capped, and an idle session is closed.

import {
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2'
import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { DNS_TCP_IDLE_MS } from '../limits.ts'
import { isDohPath } from './doh.ts'

/** Streams one HTTP/2 DoH connection may have open at once. */
const MAX_H2_STREAMS = 32
/** node:http2 session memory cap, in MB (its unit). */
const MAX_H2_SESSION_MB = 1

export interface H2cHandOff {
  /** True when the error was an HTTP/2 preface and the connection has been handed over. */
  handOff(err: Error & { code?: string; rawPacket?: Buffer }, socket: Socket): boolean
  close(): void
}

export function h2cDoh(
  doh: (req: Http2ServerRequest, res: Http2ServerResponse) => void,
): H2cHandOff {
  const server: Http2Server = createServer(
    { maxSessionMemory: MAX_H2_SESSION_MB, settings: { maxConcurrentStreams: MAX_H2_STREAMS } },
    (req, res) => {
      if (!isDohPath(req.url)) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only /dns-query over HTTP/2\n')
        return
      }
      doh(req, res)
    },
  )
  server.on('session', (session) => session.setTimeout(DNS_TCP_IDLE_MS, () => session.destroy()))
  return {
    handOff(err, socket) {
      if (err.code !== 'HPE_PAUSED_H2_UPGRADE' || !err.rawPacket) return false
      for (const event of ['data', 'end', 'error', 'timeout', 'drain', 'close']) {
        socket.removeAllListeners(event)
      }
      server.emit('connection', bridge(socket, err.rawPacket))
      return true
    },
    close() {
      server.close()
    },
  }
}

/** A duplex stream over `socket` that first yields `head` (the bytes already read). */
function bridge(socket: Socket, head: Buffer): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume()
    },
    write(chunk: Buffer, _encoding, done) {
      socket.write(chunk, done)
    },
    final(done) {
      socket.end()
      done()
    },
    destroy(err, done) {
      socket.destroy()
      done(err)
    },
  })
  stream.push(head)
  socket.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause()
  })
  socket.on('end', () => stream.push(null))
  socket.on('error', () => stream.destroy())
  socket.on('close', () => stream.destroy())
  return stream
}
