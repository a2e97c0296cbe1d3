// Runs a real relay process for the tests: `node relay/bin.js --port 0` on loopback, with a
// throwaway data directory. The port is read from its "listening" log line.

import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { freePort } from '../relay/test/ports.ts'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { checkSupernodes } from '../app/lib/network.ts'
import { loadNodeIdentity } from '../relay/identity.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Starting includes tsx compiling the relay's TypeScript on a busy 2-core machine. */
const START_TIMEOUT_MS = 60_000

export interface RunningRelay {
  url: string
  port: number
  /** Stops the process (SIGTERM: a clean stop; SIGKILL: a crash) and deletes its data. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Its last RECENT_LOG_LINES lines of log, for a failing test to print. */
  recentLog(): string
}

/** Log lines of a relay kept for recentLog(). */
const RECENT_LOG_LINES = 200

export interface RelayOptions {
  /** A port chosen up front (freePort), for relays that must name each other as peers. */
  port?: number
  /** Relays to pull listings from and push them to (`--peer`). */
  peers?: string[]
  /** Further command-line flags (quotas, poll interval). */
  args?: string[]
  /** A data directory made first (relayKeys: its node key, so its id, chosen up front);
   * removed on stop like one made here. */
  dataDir?: string
}

export async function startRelay(options: RelayOptions = {}): Promise<RunningRelay> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'monsoon-e2e-')))
  const logs = process.env.MONSOON_E2E_RELAY_LOGS
  if (logs) await mkdir(logs, { recursive: true })
  const fixedPort = options.port
  const child = spawn(
    process.execPath,
    [
      'relay/bin.js',
      '--port',
      String(fixedPort ?? 0),
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--log-level',
      'info',
      // The URL other relays know it by, as /v1/relays reports it.
      ...(fixedPort ? ['--public-url', `http://127.0.0.1:${fixedPort}`] : []),
      ...(options.peers ?? []).flatMap((peer) => ['--peer', peer]),
      // Every e2e relay is on 127.0.0.1, one /24: more than the default diversity cap
      // (shared/admission.ts) of supernodes must own hashes here.
      '--max-supernodes-per-prefix',
      '64',
      // Relays a test starts join at once, without the probation a stranger's get.
      '--admission-probation',
      '0',
      ...(options.args ?? []),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const recent: string[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    recent.push(line)
    if (recent.length > RECENT_LOG_LINES) recent.shift()
  })
  // MONSOON_E2E_RELAY_LOGS=DIR keeps each relay's output, for a failure seen only in a long
  // run: DIR/relay-<pid>.log.
  if (logs) {
    const log = createWriteStream(join(logs, `relay-${child.pid}.log`))
    child.stdout?.pipe(log, { end: false })
    child.stderr?.pipe(log, { end: false })
    child.once('exit', () => log.end())
  }

  try {
    const port = await listeningPort(child, () => stderr)
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      recentLog: () => recent.join('\n'),
      stop: async (signal = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal)
        await exited
        await rm(dataDir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    child.kill('SIGKILL')
    await exited
    await rm(dataDir, { recursive: true, force: true })
    throw err
  }
}

function listeningPort(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`relay did not start in ${START_TIMEOUT_MS} ms\n${stderr()}`)),
      START_TIMEOUT_MS,
    )
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`relay exited with code ${code} before listening\n${stderr()}`))
    })
    // Keep reading stdout after the port is known so the relay never blocks on a full pipe.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: { msg?: string; port?: number }
      try {
        entry = JSON.parse(line)
      } catch {
        return
      }
      if (entry.msg === 'listening' && typeof entry.port === 'number') {
        clearTimeout(timer)
        resolve(entry.port)
      }
    })
  })
}

/** A TCP port free on 127.0.0.1 right now, outside the ephemeral range (ports.ts). */
export { freePort }

/** Two relays that name each other with --peer (ports picked first, as each must know the
 * other's URL at start), pulling every second; resolves once both are admitted. */
export async function startPeeredRelays(): Promise<[RunningRelay, RunningRelay]> {
  const [port1, port2] = await Promise.all([freePort(), freePort()])
  const url = (port: number) => `http://127.0.0.1:${port}`
  // Two relays that name each other know no root at first: the lower id seeds the network
  // after a few supernode rounds (relay/supernode/exchange.ts), a second apart here.
  // --local-network: each is on loopback, and a supernode admits only relays it may contact.
  const args = ['--peer-poll-interval', '1', '--supernode-poll-interval', '1', '--local-network']
  const started = await Promise.allSettled([
    startRelay({ port: port1, peers: [url(port2)], args }),
    startRelay({ port: port2, peers: [url(port1)], args }),
  ])
  const relays = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  const failed = started.find((s) => s.status === 'rejected')
  if (failed) {
    await Promise.all(relays.map((r) => r.stop()))
    throw failed.reason
  }
  const deadline = Date.now() + START_TIMEOUT_MS
  while ((await Promise.all(relays.map((r) => supernodesListed(r.url)))).some((n) => n < 2)) {
    if (Date.now() > deadline) {
      await Promise.all(relays.map((r) => r.stop()))
      throw new Error('the peered relays never admitted each other')
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return [relays[0], relays[1]]
}

/** A relay's node id, as its GET /health gives it. */
export async function relayNodeId(url: string): Promise<string> {
  const health = (await (await fetch(`${url}/health`)).json()) as { id: string }
  return health.id
}

/** How many supernode records a relay lists that a browser takes (GET /v1/supernodes, checked
 * as app/lib/network.ts checks it: candidates, and supernodes that are admitted): tests wait
 * on it until the relays have all met and been admitted. */
export async function supernodesListed(url: string): Promise<number> {
  const body: unknown = await (await fetch(`${url}/v1/supernodes`)).json()
  return checkSupernodes(body, Math.floor(Date.now() / 1000)).records.length
}

/** `n` relays on ports picked first, each under its own `--public-url`, started together.
 * With `peered`, each names every other with --peer (the lowest id seeds the network, and
 * admits the others); without, each is a network of its own. */
export async function startRelays(
  n: number,
  options: { args?: string[]; peered?: boolean } = {},
): Promise<RunningRelay[]> {
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()))
  const url = (port: number) => `http://127.0.0.1:${port}`
  const started = await Promise.allSettled(
    ports.map((port) =>
      startRelay({
        port,
        peers: options.peered ? ports.filter((p) => p !== port).map(url) : [],
        args: options.args,
      }),
    ),
  )
  const relays = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  const failed = started.find((s) => s.status === 'rejected')
  if (failed) {
    await Promise.all(relays.map((r) => r.stop()))
    throw failed.reason
  }
  return relays
}

/** Data directories for `n` relays, each with its node key made, and the node ids: for
 * tests that pick content by its owners before every relay is running. */
export async function relayKeys(n: number): Promise<{ dataDir: string; id: string }[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'monsoon-e2e-'))
      return { dataDir, id: loadNodeIdentity(dataDir).identity.id }
    }),
  )
}
