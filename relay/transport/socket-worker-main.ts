// A socket worker process (socket-worker.ts): waits for the primary to hand it the listening
// socket, then accepts on it until the primary stops it (SIGTERM) or goes away (the IPC
// channel closes: a primary killed outright leaves no worker behind). Asks and replies go
// over the pipe on PIPE_FD (socket-workers.ts opens it), everything else over IPC.

import { Socket, type Server } from 'node:net'
import { createLogger } from '../log.ts'
import {
  PIPE_FD,
  SocketWorker,
  keepBacklog,
  type PrimaryChannel,
  type PrimaryMessage,
  type WorkerMessage,
} from './socket-worker.ts'
import { FrameReader } from './worker-wire.ts'

if (!process.send) throw new Error('a socket worker runs only as a forked child of the relay')
const pipe = new Socket({ fd: PIPE_FD, readable: true, writable: true })
const channel: PrimaryChannel = {
  send(message: WorkerMessage, socket?: Socket, sent?: () => void) {
    if (!process.connected) return
    process.send!(message, socket, {}, () => sent?.())
  },
  ask(frame: Buffer) {
    pipe.write(frame)
  },
}
let worker: SocketWorker | undefined
let server: Server | undefined
const replies = new FrameReader()
pipe.on('data', (chunk: Buffer) => {
  for (const batch of replies.push(chunk)) worker?.onReplies(batch)
})

process.on('message', (message: PrimaryMessage, handle?: Server) => {
  if (message.kind === 'listen' && handle && worker === undefined) {
    server = handle
    keepBacklog(handle)
    const log = createLogger(message.settings.logLevel)
    worker = new SocketWorker(handle, message.settings, channel, log)
  }
})
channel.send({ kind: 'ready' })
const stop = () => {
  worker?.close()
  server?.close()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('disconnect', stop)
pipe.on('close', stop)
// The primary decides when to stop: Ctrl-C reaches the whole process group.
process.on('SIGINT', () => {})
