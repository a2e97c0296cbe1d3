// Child processes for benchmarks: servers and load generators each run in their own process,
// on loopback, and are always stopped at the end — on success, on error, on SIGINT/SIGTERM,
// and (because run.js kills the whole process group) even when a benchmark is killed.

import { spawn, spawnSync } from 'node:child_process'
import { createServer, connect } from 'node:net'
import { createInterface } from 'node:readline'

/** Diagnostics go to stderr; stdout carries only the benchmark's one JSON line. */
export function note(...parts) {
  process.stderr.write(`[bench] ${parts.join(' ')}\n`)
}

/** Full path of an executable on PATH, or null. */
export function which(name) {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

/** Rejects after `ms` with a message naming what took too long. */
export function withDeadline(promise, ms, what) {
  let timer
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** A port free right now on 127.0.0.1 (for servers that cannot be told to pick one). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port, timeoutMs) {
  const until = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise((resolve) => {
      const sock = connect(port, '127.0.0.1')
      sock.once('connect', () => {
        sock.destroy()
        resolve(true)
      })
      sock.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > until) throw new Error(`nothing listening on port ${port}`)
    await sleep(50)
  }
}

/**
 * Every process a benchmark started. `stopAll()` sends SIGTERM, then SIGKILL to whatever is
 * still alive after the grace period; it is safe to call more than once.
 */
export class ProcessGroup {
  #children = new Set()

  /** Spawns `cmd`; stdout is piped (read it with `lines()`), stderr is prefixed onto ours. */
  spawn(name, cmd, args, options = {}) {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
    child.benchName = name
    child.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#children.delete(child)
        resolve({ code, signal })
      })
      child.once('error', (err) => {
        this.#children.delete(child)
        resolve({ code: null, signal: null, error: err })
      })
    })
    // 'close' comes after 'exit', once stdout and stderr are drained: wait on this for output.
    child.finished = new Promise((resolve) => {
      child.once('close', (code, signal) => resolve({ code, signal }))
      child.once('error', (error) => resolve({ code: null, signal: null, error }))
    })
    this.#children.add(child)
    if (child.stderr) {
      createInterface({ input: child.stderr }).on('line', (line) => note(`${name}: ${line}`))
    }
    return child
  }

  /** Resolves with the first stdout line that `match` accepts (as parsed JSON when it is). */
  waitForLine(child, match, timeoutMs) {
    const wait = new Promise((resolve, reject) => {
      const rl = createInterface({ input: child.stdout })
      rl.on('line', (line) => {
        let value = line
        try {
          value = JSON.parse(line)
        } catch {
          // Not JSON: match on the raw line.
        }
        if (match(value)) {
          rl.removeAllListeners('line')
          // Keep draining so a chatty child never blocks on a full pipe.
          rl.on('line', () => {})
          resolve(value)
        }
      })
      void child.exited.then(({ code, signal, error }) =>
        reject(
          new Error(`${child.benchName} exited (${error?.message ?? signal ?? code}) before ready`),
        ),
      )
    })
    return withDeadline(wait, timeoutMs, `${child.benchName} start`)
  }

  async stop(child, graceMs = 3000) {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const done = await Promise.race([child.exited.then(() => true), sleep(graceMs)])
    if (!done) {
      note(`${child.benchName}: still alive after SIGTERM, sending SIGKILL`)
      child.kill('SIGKILL')
      await Promise.race([child.exited, sleep(graceMs)])
    }
  }

  async stopAll(graceMs = 3000) {
    await Promise.all([...this.#children].map((c) => this.stop(c, graceMs)))
  }

  /** Synchronous last resort (process 'exit'): SIGKILL everything still running. */
  killAllNow() {
    for (const child of this.#children) {
      try {
        child.kill('SIGKILL')
      } catch {
        // Already gone.
      }
    }
  }
}

/**
 * Runs one benchmark: `body(procs)` returns its result object, which is printed as the one
 * JSON line on stdout. Children are stopped however `body` ends; an error becomes
 * `{ bench, error }` and exit code 1.
 */
export async function runBenchmark(bench, body) {
  const procs = new ProcessGroup()
  let interrupted = false
  const onSignal = (signal) => {
    if (interrupted) return
    interrupted = true
    note(`${bench}: ${signal}, stopping children`)
    void procs.stopAll(1000).finally(() => process.exit(130))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('exit', () => procs.killAllNow())

  let result
  let failed = false
  try {
    result = await body(procs)
  } catch (err) {
    failed = true
    note(`${bench}: ${err?.stack ?? err}`)
    result = { bench, error: String(err?.message ?? err) }
  } finally {
    await procs.stopAll()
  }
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exitCode = failed ? 1 : 0
}
