// Our relay for bench/abuse, as users run it: default flags and the default budget for every
// address. Not lib/servers.js's startRelay, which lifts the budgets per address (its load
// generators are thousands of clients behind one address): those budgets are what this
// benchmark measures.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const START_TIMEOUT_MS = 20_000
/** Another checkout's relay/bin.js (--relay), as lib/servers.js takes it. */
export const RELAY_BIN = resolve(
  process.env.MONSOON_BENCH_RELAY_BIN ??
    fileURLToPath(new URL('../../relay/bin.js', import.meta.url)),
)

/** Starts a relay on a free loopback port with a throwaway data directory; resolves with
 * `{ port, child }` once it logs `listening`. */
export async function startDefaultRelay(procs, relayArgs = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'monsoon-bench-abuse-'))
  const args = [RELAY_BIN, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir]
  args.push('--log-level', 'info', ...relayArgs)
  const child = procs.spawn('relay', process.execPath, args, { cwd: dirname(dirname(RELAY_BIN)) })
  void child.exited.then(() => rmSync(dataDir, { recursive: true, force: true }))
  const line = await procs.waitForLine(
    child,
    (v) => typeof v === 'object' && v?.msg === 'listening',
    START_TIMEOUT_MS,
  )
  return { port: line.port, child }
}
