// The relay's socket workers, seen from the primary (issue 24, "both cores"): with
// `--workers N` the primary forks N-1 processes (socket-worker-main.ts) and hands each the
// listening socket, so the kernel spreads accepted connections over every process on the one
// port. (Node's cluster would accept every connection in the primary and pass it on, the very
// cost this removes; Node 20 has no SO_REUSEPORT.) The swarm state stays here: a worker asks
// for the answer to each whole tracker request it reads and gets the bytes this process's
// fast path makes of it (tracker-fast-path.ts answer()), so request rates, 429s, proxied
// announces, X-Forwarded-For and /metrics counts are the primary's, as with one process.
// Every other connection comes here with its socket and the bytes the worker read, and is
// accepted as if it had arrived here (OnePort.adopt).
//
// Workers start from one bundle of socket-worker-main.ts (esbuild, as the verify workers do:
// catalog/worker-bundle.ts), made once a process and sent to each worker over IPC
// (socket-worker-boot.js): through tsx a worker spent ~0.5 s of CPU starting and held ~77 MB
// idle. If bundling fails, workers start through tsx (socket-worker.js) as before.
//
// A worker that exits is started again, at most MAX_WORKER_RESTARTS times per
// WORKER_RESTART_WINDOW_MS in all (a worker that cannot start would otherwise be forked in a
// loop); past that its place stays empty and the primary, still listening, takes its share.

import { fork, type ChildProcess } from 'node:child_process'
import type { Server, Socket } from 'node:net'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { esbuildBundler, type Bundler } from '../catalog/worker-bundle.ts'
import { MAX_WORKERS, type RelayConfig } from '../config.ts'
import { SNIFF_TIMEOUT_MS } from '../limits.ts'
import type { Logger } from '../log.ts'
import type { MetricFamily } from '../metrics.ts'
import type { Refusals } from '../refusals.ts'
import {
  PIPE_FD,
  type PrimaryMessage,
  type SocketWorkerSettings,
  type WorkerMessage,
} from './socket-worker.ts'
import type { TrackerFront } from '../tracker/http-front.ts'
import { TrackerFastPath, type FastAnswer } from './tracker-fast-path.ts'
import {
  Batcher,
  FrameReader,
  decodeAsks,
  encodeReplies,
  type TrackerAsk,
  type TrackerReply,
} from './worker-wire.ts'

/** Restarts of workers allowed within WORKER_RESTART_WINDOW_MS, over all of them. */
export const MAX_WORKER_RESTARTS = 5
export const WORKER_RESTART_WINDOW_MS = 60_000
/** Replies in one IPC message at most. */
const MAX_REPLIES_PER_BATCH = 128
/** A worker that does not exit this long after SIGTERM is killed. */
const STOP_TIMEOUT_MS = 3000

const ENTRY = fileURLToPath(new URL('./socket-worker.js', import.meta.url))
const BOOT = fileURLToPath(new URL('./socket-worker-boot.js', import.meta.url))
const MAIN = fileURLToPath(new URL('./socket-worker-main.ts', import.meta.url))

/** socket-worker-main.ts as one module's source, bundled once a process; null when it
 * could not be (workers then start through tsx). */
let bundled: string | null | undefined

export function socketWorkerSource(bundle: Bundler = esbuildBundler): string | null {
  if (bundled !== undefined) return bundled
  try {
    // Named, so stack traces and CPU profiles say where, not the whole data: URL.
    bundled = `${bundle(MAIN)}\n//# sourceURL=socket-worker-main.bundle.js\n`
  } catch {
    bundled = null
  }
  return bundled
}

export interface SocketWorkersOptions {
  /** Worker processes to start (the primary is not one of them). */
  count: number
  settings: SocketWorkerSettings
  /** The tracker's answers, as the primary's own fast path gives them. */
  front: Pick<TrackerFront, 'answer'>
  /** A connection a worker handed over, with the bytes it read from it. */
  adopt(socket: Socket, bytes: Buffer): void
  refusals: Refusals
  log: Logger
  /** The worker's entry (tests); default: socket-worker-boot.js given the bundle, else
   * socket-worker.js (tsx). */
  entry?: string
  /** The bundle a booting worker runs (tests); default socketWorkerSource(). */
  source?: () => string | null
}

interface Slot {
  index: number
  child: ChildProcess
  replies: Batcher<TrackerReply>
}

const DECLINED = new Uint8Array()

export class SocketWorkers {
  readonly #options: SocketWorkersOptions
  /** Answers as the one port's fast path makes them; it never holds a socket here. */
  readonly #fastPath: TrackerFastPath
  readonly #slots = new Set<Slot>()
  readonly #restarts: number[] = []
  #server: Server | undefined
  #closing = false
  /** What workers passed here since start, for /metrics. */
  readonly #counts = { answered: 0, handedOff: 0, restarts: 0 }

  constructor(options: SocketWorkersOptions) {
    if (!Number.isInteger(options.count) || options.count < 0 || options.count >= MAX_WORKERS) {
      throw new RangeError(`worker count must be 0-${MAX_WORKERS - 1}`)
    }
    this.#options = options
    this.#fastPath = new TrackerFastPath({
      front: options.front,
      handOff: (socket) => socket.destroy(),
      keepAliveTimeoutMs: options.settings.keepAliveTimeoutMs,
    })
  }

  /** Process ids of the workers running now. */
  get pids(): number[] {
    return [...this.#slots].flatMap((s) => (s.child.pid === undefined ? [] : [s.child.pid]))
  }

  /** `monsoon_socket_worker_*`: how the port's work spreads over the processes. */
  metrics(): MetricFamily[] {
    return [
      {
        name: 'monsoon_socket_workers',
        help: 'Socket worker processes running beside the primary (--workers).',
        type: 'gauge',
        samples: [{ value: this.#slots.size }],
      },
      {
        name: 'monsoon_socket_worker_requests_total',
        help: 'Tracker requests socket workers read and the primary answered.',
        type: 'counter',
        samples: [{ value: this.#counts.answered }],
      },
      {
        name: 'monsoon_socket_worker_handoffs_total',
        help: 'Connections socket workers handed to the primary (other paths, WebSocket, TLS).',
        type: 'counter',
        samples: [{ value: this.#counts.handedOff }],
      },
      {
        name: 'monsoon_socket_worker_restarts_total',
        help: 'Socket workers started again after they exited.',
        type: 'counter',
        samples: [{ value: this.#counts.restarts }],
      },
    ]
  }

  /** Starts the workers on `server`, which listens already. */
  start(server: Server): void {
    this.#server = server
    for (let i = 0; i < this.#options.count; i++) this.#fork(i)
  }

  /** Stops every worker (SIGTERM, then SIGKILL); resolves once all have exited. */
  async close(): Promise<void> {
    this.#closing = true
    await Promise.all(
      [...this.#slots].map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
        await exited
        clearTimeout(timer)
      }),
    )
    this.#slots.clear()
  }

  #fork(index: number): void {
    const { log } = this.#options
    // Flags such as vitest's loaders or --cpu-prof are the primary's: the entry registers tsx
    // or runs the bundle.
    const source = (this.#options.source ?? socketWorkerSource)()
    const entry = this.#options.entry ?? (source === null ? ENTRY : BOOT)
    const child = fork(entry, [], {
      serialization: 'advanced',
      execArgv: [],
      // PIPE_FD: the asks-and-replies pipe.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'],
    })
    const pipe = child.stdio[PIPE_FD] as Socket
    const slot: Slot = {
      index,
      child,
      replies: new Batcher((replies) => pipe.write(encodeReplies(replies)), MAX_REPLIES_PER_BATCH),
    }
    this.#slots.add(slot)
    const asks = new FrameReader()
    pipe.on('data', (chunk: Buffer) => {
      try {
        for (const batch of asks.push(chunk)) {
          for (const ask of decodeAsks(batch)) this.#answer(slot, ask)
        }
      } catch (err) {
        // A bug in the worker, not a reason to stop the primary: it is started afresh.
        log.error('socket worker sent a bad frame', { worker: index, error: String(err) })
        pipe.destroy()
        child.kill('SIGKILL')
      }
    })
    // A worker gone takes its pipe with it: 'exit' below says so.
    pipe.on('error', () => pipe.destroy())
    child.on('message', (message: WorkerMessage, socket?: Socket) =>
      this.#onMessage(slot, message, socket),
    )
    child.on('error', (err) =>
      log.warn('socket worker error', { worker: index, error: err.message }),
    )
    child.once('exit', (code, signal) => this.#exited(slot, code, signal))
    log.info('socket worker started', { worker: index, pid: child.pid })
  }

  #send(child: ChildProcess, message: PrimaryMessage, handle?: Server): void {
    if (!child.connected) return
    child.send(message, handle, (err) => {
      if (err) this.#options.log.debug('socket worker unreachable', { error: err.message })
    })
  }

  #exited(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    this.#slots.delete(slot)
    if (this.#closing) return
    const { log } = this.#options
    const now = Date.now()
    while (this.#restarts.length && now - this.#restarts[0] > WORKER_RESTART_WINDOW_MS) {
      this.#restarts.shift()
    }
    if (this.#restarts.length >= MAX_WORKER_RESTARTS) {
      log.error('socket worker exited; not restarted (too many restarts)', {
        worker: slot.index,
        code,
        signal,
        restarts: this.#restarts.length,
      })
      return
    }
    this.#restarts.push(now)
    this.#counts.restarts++
    log.warn('socket worker exited; restarting', { worker: slot.index, code, signal })
    this.#fork(slot.index)
  }

  #onMessage(slot: Slot, message: WorkerMessage, socket: Socket | undefined): void {
    switch (message.kind) {
      case 'boot': {
        const source = (this.#options.source ?? socketWorkerSource)()
        if (source === null) slot.child.kill('SIGKILL')
        else this.#send(slot.child, { kind: 'code', source })
        return
      }
      case 'ready':
        this.#send(slot.child, { kind: 'listen', settings: this.#options.settings }, this.#server)
        this.#options.log.info('socket worker listening', {
          worker: slot.index,
          pid: slot.child.pid,
        })
        return
      case 'handOff':
        // Undefined when the connection closed before it could be passed.
        if (!socket) return
        if (this.#closing) {
          socket.destroy()
          return
        }
        this.#counts.handedOff++
        this.#options.adopt(socket, message.bytes)
        return
      case 'refused':
        for (const [reason, source, fields] of message.refusals) {
          this.#options.refusals.refuse(reason, source, fields)
        }
        return
    }
  }

  #answer(slot: Slot, ask: TrackerAsk): void {
    const { id } = ask
    this.#counts.answered++
    let answer: FastAnswer | undefined
    try {
      answer = this.#fastPath.answer(ask.bytes, ask.remoteAddress)
    } catch (err) {
      this.#options.log.error('tracker answer failed', { error: String(err) })
      slot.replies.add({ id, outcome: 'failed', keepAlive: false, response: DECLINED })
      return
    }
    if (answer === undefined) {
      slot.replies.add({ id, outcome: 'declined', keepAlive: false, response: DECLINED })
      return
    }
    const { keepAlive, response } = answer
    if (response instanceof Uint8Array) {
      slot.replies.add({ id, outcome: 'answered', keepAlive, response })
      return
    }
    response.then(
      (r) => slot.replies.add({ id, outcome: 'answered', keepAlive, response: r }),
      () => slot.replies.add({ id, outcome: 'failed', keepAlive: false, response: DECLINED }),
    )
  }
}

/** The socket workers `config.workers` asks for (0: one process per core), or undefined when
 * that is the primary alone. */
export function socketWorkers(
  config: Pick<
    RelayConfig,
    'workers' | 'maxConnectionsPerAddress' | 'maxConnections' | 'trustProxy' | 'logLevel'
  >,
  deps: Omit<SocketWorkersOptions, 'count' | 'settings'> & { keepAliveTimeoutMs: number },
): SocketWorkers | undefined {
  const processes = config.workers === 0 ? availableParallelism() : config.workers
  if (processes <= 1) return undefined
  const { keepAliveTimeoutMs, ...rest } = deps
  return new SocketWorkers({
    ...rest,
    count: Math.min(processes, MAX_WORKERS) - 1,
    settings: {
      keepAliveTimeoutMs,
      sniffTimeoutMs: SNIFF_TIMEOUT_MS,
      // Behind a trusted proxy every connection comes from the proxy: only the total applies.
      maxConnectionsPerAddress: config.trustProxy ? Infinity : config.maxConnectionsPerAddress,
      maxConnections: config.maxConnections,
      logLevel: config.logLevel,
    },
  })
}
