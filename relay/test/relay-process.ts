// Starts the real relay as a child process (`node relay/bin.js`) on a free port of 127.0.0.1,
// with a throwaway data directory, and stops it. Integration tests talk to it over real
// sockets only; nothing here reaches into the relay's memory.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../bin.js', import.meta.url))
const START_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 5_000

export interface RelayProcess {
  readonly port: number
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  /** `ws://127.0.0.1:PORT` */
  readonly wsUrl: string
  readonly dataDir: string
  readonly child: ChildProcess
  /** Every JSON log line printed so far. */
  readonly logs: Record<string, unknown>[]
  /** True while the process has not exited. */
  running(): boolean
  /** SIGTERM, then SIGKILL if it lingers; removes the data directory. Returns the exit code. */
  stop(): Promise<number | null>
}

export interface StartOptions {
  /** Extra command-line flags. */
  args?: string[]
  env?: Record<string, string>
  /** An installed `monsoon-relay`, run as it is (default: `node relay/bin.js`). */
  bin?: string
  /** The working directory (default: this process's). */
  cwd?: string
  /** Leave `--workers` at the relay's default (one process per core) instead of 1. */
  defaultWorkers?: boolean
}

/** Spawns the relay and resolves once it logs `listening`. */
export async function startRelay(options: StartOptions = {}): Promise<RelayProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'monsoon-relay-'))
  const args = ['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir]
  // Every test relay is on 127.0.0.1, one /24: networks of several supernodes need more than
  // the default diversity cap (shared/admission.ts). A test of the cap gives its own figure.
  if (!options.args?.includes('--max-supernodes-per-prefix')) {
    args.push('--max-supernodes-per-prefix', '64')
  }
  // Relays a test starts join at once; a test of the probation gives its own figure.
  if (!options.args?.includes('--admission-probation')) args.push('--admission-probation', '0')
  // One process, unless a test asks for more: budgets per address and counts in logs are each
  // process's own (README, "Limits"), and the tests of them assert exact figures. The default
  // shape, one process per core, runs under every e2e test and in workers.test.ts.
  if (!options.defaultWorkers && !options.args?.includes('--workers')) args.push('--workers', '1')
  const [command, script] = options.bin ? [options.bin, []] : [process.execPath, [BIN]]
  const child = spawn(command, [...script, ...args, ...(options.args ?? [])], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: Record<string, unknown>[] = []
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))

  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  let exitCode: number | null | undefined
  void exited.then((code) => (exitCode = code))

  const port = await new Promise<number>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => fail('no "listening" line'), START_TIMEOUT_MS)
    function fail(why: string) {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      rmSync(dataDir, { recursive: true, force: true })
      reject(new Error(`relay did not start (${why}); stderr:\n${stderr}`))
    }
    let buffered = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      let nl
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        let entry: Record<string, unknown>
        try {
          entry = JSON.parse(line) as Record<string, unknown>
        } catch {
          continue
        }
        logs.push(entry)
        if (entry.msg === 'listening' && typeof entry.port === 'number' && !settled) {
          settled = true
          clearTimeout(timer)
          resolve(entry.port)
        }
      }
    })
    void exited.then((code) => fail(`exited with code ${code}`))
  })

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    dataDir,
    child,
    logs,
    running: () => exitCode === undefined,
    async stop() {
      if (exitCode === undefined) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
        await exited
        clearTimeout(timer)
      }
      rmSync(dataDir, { recursive: true, force: true })
      return exitCode ?? null
    },
  }
}

/** Runs the relay's bin to completion (for --help and bad flags). */
export function runRelayCli(
  args: string[],
  bin?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [command, script] = bin ? [bin, []] : [process.execPath, [BIN]]
    const child = spawn(command, [...script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
    const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
