// The trackers benchmarks compare, each started in its own process on a free loopback port:
// our relay, the `bittorrent-tracker` server (the JS reference) and Debian's `opentracker`
// (the C reference, HTTP only).

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitForAcceptedAnnounce } from './announce-check.js'
import { freePort, waitForPort, which } from './processes.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const START_TIMEOUT_MS = 20_000
/** Another checkout's relay/bin.js, to measure a candidate change beside the same references. */
const RELAY_BIN = resolve(process.env.MONSOON_BENCH_RELAY_BIN ?? join(ROOT, 'relay/bin.js'))

/** A load generator is thousands of clients behind one address (127.0.0.1): the relay's
 * budgets per address (relay/limits.ts) are lifted for it. As environment variables, which a
 * relay of another checkout without these options ignores; flags in `relayArgs` win. */
const LOAD_FROM_ONE_ADDRESS = {
  MONSOON_MAX_TORRENTS_PER_ADDRESS: '1000000',
  MONSOON_MAX_PEERS_PER_ADDRESS: '10000000',
  MONSOON_MAX_WEBSOCKETS_PER_ADDRESS: '1000000',
  MONSOON_MAX_CONNECTIONS_PER_ADDRESS: '1000000',
  MONSOON_MAX_REQUESTS_PER_ADDRESS: '100000000',
}

/** Our relay, as users run it (`relay/bin.js`), logging at info. `nodeArgs` e.g. --cpu-prof. */
export async function startRelay(procs, { nodeArgs = [], relayArgs = [] } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'monsoon-bench-relay-'))
  const args = [...nodeArgs, RELAY_BIN]
  args.push('--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'info')
  args.push(...relayArgs)
  const child = procs.spawn('relay', process.execPath, args, {
    cwd: dirname(dirname(RELAY_BIN)),
    env: { ...process.env, ...LOAD_FROM_ONE_ADDRESS },
  })
  void child.exited.then(() => rmSync(dataDir, { recursive: true, force: true }))
  const line = await procs.waitForLine(
    child,
    (v) => typeof v === 'object' && v?.msg === 'listening',
    START_TIMEOUT_MS,
  )
  return { name: 'ours', port: line.port, child }
}

/**
 * Our relay as a non-owner: a candidate peered with a supernode that owns every hash, so
 * each classic announce it takes is proxied to that owner (relay/supernode/announce-proxy.ts).
 * Returns the candidate (the one measured) once it knows the owner; `owner` is stopped with it.
 */
export async function startProxyingRelay(procs, { nodeArgs = [] } = {}) {
  const local = [
    '--local-network',
    '--supernode-poll-interval',
    '1',
    '--max-supernodes-per-prefix',
    '64',
    '--admission-probation',
    '0',
    // Tracking bandwidth past its cap (~400 announces/s by default) would have the owner
    // promote the candidate mid-run, which then owns every hash and proxies none: the load
    // measured would no longer be proxied announces. Likewise a rotation.
    '--max-bandwidth',
    String(1e12),
    '--rotation-interval',
    '0',
  ]
  const owner = await startRelay(procs, { nodeArgs, relayArgs: local })
  const proxy = await startRelay(procs, {
    nodeArgs,
    relayArgs: [...local, '--role', 'candidate', '--peer', `http://127.0.0.1:${owner.port}`],
  })
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${proxy.port}/v1/supernodes`)
    const { supernodes } = await res.json()
    if (supernodes.some((r) => r.role === 'supernode')) break
    if (Date.now() > deadline) throw new Error('the proxying relay never learned its owner')
    await new Promise((r) => setTimeout(r, 200))
  }
  void proxy.child.exited.then(() => procs.stop(owner.child, 3000))
  return { name: 'ours_proxied', port: proxy.port, child: proxy.child, owner }
}

/** bittorrent-tracker@11's Server with HTTP and WebSocket on one port (UDP off). */
export async function startBittorrentTracker(procs) {
  const script = fileURLToPath(new URL('./bittorrent-tracker-server.js', import.meta.url))
  const child = procs.spawn('bittorrent-tracker', process.execPath, [script], { cwd: ROOT })
  const line = await procs.waitForLine(
    child,
    (v) => typeof v === 'object' && v?.msg === 'listening',
    START_TIMEOUT_MS,
  )
  return { name: 'bittorrent_tracker', port: line.port, child }
}

/**
 * Debian's opentracker, whitelisting `hashesHex` (its Debian build tracks only whitelisted
 * hashes). It refuses to run as root, so it drops to `nobody` inside a chroot directory
 * that holds the whitelist; both must be readable by nobody. Returns null when the binary
 * is missing.
 */
export async function startOpentracker(procs, hashesHex) {
  const bin = which('opentracker')
  if (!bin) return null
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-bench-opentracker-'))
  chmodSync(dir, 0o755)
  const whitelist = join(dir, 'whitelist.txt')
  writeFileSync(whitelist, hashesHex.join('\n') + '\n')
  chmodSync(whitelist, 0o644)
  const port = await freePort()
  const udpPort = await freePort()
  const args = ['-i', '127.0.0.1', '-p', String(port), '-P', String(udpPort), '-d', dir]
  // The whitelist path is read after the chroot, so it is given relative to `dir`.
  args.push('-w', 'whitelist.txt')
  if (process.getuid?.() === 0) args.push('-u', 'nobody')
  const child = procs.spawn('opentracker', bin, args, { cwd: dir })
  void child.exited.then(() => rmSync(dir, { recursive: true, force: true }))
  await Promise.race([
    waitForPort(port, START_TIMEOUT_MS).then(() =>
      waitForAcceptedAnnounce(port, hashesHex[0], START_TIMEOUT_MS),
    ),
    child.exited.then(({ code, signal }) => {
      throw new Error(`opentracker exited (${signal ?? code}) before listening`)
    }),
  ])
  return { name: 'opentracker', port, child }
}
