// The TURN servers the turn benchmark compares, each in its own process on 127.0.0.1, all
// taking TURN REST credentials made from one shared secret: Debian's coturn (`turnserver`)
// and ours (the relay, `relay/bin.js --turn-secret-file`, serving STUN/TURN on the UDP
// port of its HTTP port; or, before the relay serves it, createTurnServer run alone by
// our-turn.ts).

import { createHmac, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, sleep, which } from '../lib/processes.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const RELAY_BIN = resolve(process.env.MONSOON_BENCH_RELAY_BIN ?? join(ROOT, 'relay/bin.js'))
const START_TIMEOUT_MS = 20_000
/** MONSOON_BENCH_PROFILE=DIR (run.js --profile): ours runs under --cpu-prof into DIR. */
const PROFILE_ARGS = process.env.MONSOON_BENCH_PROFILE
  ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.env.MONSOON_BENCH_PROFILE)]
  : []
export const REALM = 'monsoon'
/** UDP ports each server takes relayed addresses from (two allocations a round). */
const RELAY_PORTS = 32

/** TURN REST credentials (draft-uberti-behave-turn-rest): `${expiry}:bench`, HMAC-SHA1. */
export function restCredentials(secret, ttlS = 600) {
  const username = `${Math.floor(Date.now() / 1000) + ttlS}:bench`
  const password = createHmac('sha1', secret).update(username).digest('base64')
  return { username, password }
}

/** A STUN Binding request (RFC 5389) with a random transaction id. */
function bindingRequest() {
  const msg = Buffer.alloc(20)
  msg.writeUInt16BE(0x0001, 0)
  msg.writeUInt16BE(0, 2)
  msg.writeUInt32BE(0x2112a442, 4)
  randomBytes(12).copy(msg, 8)
  return msg
}

/** An unauthenticated Allocate request for a UDP relay (RFC 8656 §7.1). */
function allocateRequest() {
  const msg = bindingRequest()
  msg.writeUInt16BE(0x0003, 0)
  msg.writeUInt16BE(8, 2)
  // REQUESTED-TRANSPORT: UDP (17).
  const attr = Buffer.from([0x00, 0x19, 0x00, 0x04, 17, 0, 0, 0])
  return Buffer.concat([msg, attr])
}

/** The ERROR-CODE (e.g. 401) of a STUN error response, or null. */
function errorCode(msg) {
  for (let at = 20; at + 4 <= msg.length;) {
    const type = msg.readUInt16BE(at)
    const length = msg.readUInt16BE(at + 2)
    if (type === 0x0009 && length >= 4) return msg[at + 6] * 100 + msg[at + 7]
    at += 4 + Math.ceil(length / 4) * 4
  }
  return null
}

/** Sends `req` to 127.0.0.1:port; resolves with the answer, or null after 300 ms. */
function ask(port, req) {
  return new Promise((done) => {
    const socket = createSocket('udp4')
    const finish = (v) => {
      clearTimeout(timer)
      socket.close()
      done(v)
    }
    const timer = setTimeout(() => finish(null), 300)
    socket.on('error', () => finish(null))
    socket.on('message', (m) => finish(m.length >= 20 ? m : null))
    socket.send(req, port, '127.0.0.1')
  })
}

/**
 * Resolves once 127.0.0.1:port answers a Binding request with success and an unauthenticated
 * Allocate with 401 (a TURN server asking for credentials); throws when the child exits, when
 * it answers STUN but not TURN, or after `timeoutMs`.
 */
export async function waitForTurn(port, child, timeoutMs = START_TIMEOUT_MS) {
  const until = Date.now() + timeoutMs
  for (;;) {
    const binding = await ask(port, bindingRequest())
    if (binding?.readUInt16BE(0) === 0x0101) {
      const allocate = await ask(port, allocateRequest())
      const code = allocate && allocate.readUInt16BE(0) === 0x0113 ? errorCode(allocate) : null
      if (code === 401) return
      throw new Error(
        `${child.benchName}: STUN answered on ${port} but an Allocate got ${
          allocate ? `0x${allocate.readUInt16BE(0).toString(16)} ${code ?? ''}` : 'no answer'
        }, not 401: TURN not served`,
      )
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${child.benchName} exited (${child.signalCode ?? child.exitCode})`)
    }
    if (Date.now() > until) throw new Error(`${child.benchName}: no STUN answer on ${port}`)
    await sleep(100)
  }
}

/** Awaits `ready`; when it fails, stops `child` before passing the error on. */
async function stopUnless(procs, child, ready) {
  try {
    await ready
  } catch (err) {
    await procs.stop(child)
    throw err
  }
}

/** A range of `count` UDP ports for relay allocations, each free right now. */
async function relayPortRange(count) {
  // Pick a base from an ephemeral port and check each port of the range can be bound.
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 20000)
    const sockets = []
    let ok = true
    for (let p = base; p < base + count && ok; p++) {
      const s = createSocket('udp4')
      ok = await new Promise((done) => {
        s.once('error', () => done(false))
        s.bind(p, '127.0.0.1', () => done(true))
      })
      sockets.push(s)
    }
    for (const s of sockets) s.close()
    if (ok) return [base, base + count - 1]
  }
  throw new Error('no free UDP port range for relay allocations')
}

/** coturn's version, e.g. "4.6.1", or null. */
export function coturnVersion(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' })
  return (r.stdout || r.stderr || '').trim().split('\n').pop() || null
}

/**
 * Debian's coturn on 127.0.0.1 with TURN REST auth from `secret`, relaying to loopback
 * peers, UDP only, its own defaults otherwise (relay threads: one per core). Null when
 * `turnserver` is missing.
 */
export async function startCoturn(procs, secret, name = 'coturn') {
  const bin = which('turnserver')
  if (!bin) return null
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-bench-coturn-'))
  const port = await freePort()
  const [minPort, maxPort] = await relayPortRange(RELAY_PORTS)
  const args = [
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    `--realm=${REALM}`,
    '--listening-ip=127.0.0.1',
    '--relay-ip=127.0.0.1',
    `--listening-port=${port}`,
    `--min-port=${minPort}`,
    `--max-port=${maxPort}`,
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    '--no-tcp-relay',
    '--allow-loopback-peers',
    '--no-multicast-peers',
    '--fingerprint',
    // Its SQLite user database (unused with a static secret) and pid file, in our directory
    // (the defaults are under /var).
    `--userdb=${join(dir, 'turndb')}`,
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    `--log-file=${join(dir, 'turn.log')}`,
    '--simple-log',
    '--no-stdout-log',
  ]
  const child = procs.spawn(name, bin, args, { cwd: dir })
  void child.exited.then(() => rmSync(dir, { recursive: true, force: true }))
  await stopUnless(procs, child, waitForTurn(port, child))
  return { key: name, port, child, version: coturnVersion(bin) }
}

/**
 * Our relay as users run it, serving STUN/TURN on the UDP port of its HTTP port, with the
 * shared secret in a file.
 */
export async function startOurRelay(procs, secret) {
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-bench-turn-relay-'))
  const secretFile = join(dir, 'turn-secret')
  writeFileSync(secretFile, secret + '\n', { mode: 0o600 })
  const port = await freePort()
  const [minPort, maxPort] = await relayPortRange(RELAY_PORTS)
  const args = [
    ...PROFILE_ARGS,
    RELAY_BIN,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--local-network',
  ]
  args.push('--public-url', `http://127.0.0.1:${port}`)
  args.push('--turn-secret-file', secretFile, '--data-dir', join(dir, 'data'))
  // No bandwidth cap (its default is 2 MiB/s), relay ports beside coturn's.
  args.push('--turn-max-bandwidth', '0', '--turn-relay-ports', `${minPort}-${maxPort}`)
  args.push('--log-level', 'info')
  const child = procs.spawn('ours', process.execPath, args, { cwd: ROOT })
  void child.exited.then(() => rmSync(dir, { recursive: true, force: true }))
  // Listening on HTTP, so its UDP socket is bound too when it serves TURN: no long wait.
  const ready = procs
    .waitForLine(child, (v) => v?.msg === 'listening', START_TIMEOUT_MS)
    .then(() => waitForTurn(port, child, 5000))
  await stopUnless(procs, child, ready)
  // Browsers signal through its WebSocket tracker, and it relays only towards peers
  // signalled there: the client does the same.
  return { key: 'ours', port, child, process: 'relay', signal: `ws://127.0.0.1:${port}` }
}

/** createTurnServer (relay/turn/turn-server.ts) alone in a process of its own (our-turn.ts). */
export async function startOurStandalone(procs, secret) {
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-bench-turn-alone-'))
  const secretFile = join(dir, 'turn-secret')
  writeFileSync(secretFile, secret + '\n', { mode: 0o600 })
  const port = await freePort()
  const [minPort, maxPort] = await relayPortRange(RELAY_PORTS)
  const script = fileURLToPath(new URL('./our-turn.ts', import.meta.url))
  const args = [
    ...PROFILE_ARGS,
    '--import',
    'tsx',
    script,
    '--port',
    String(port),
    '--secret-file',
    secretFile,
  ]
  args.push('--relay-ports', `${minPort}-${maxPort}`)
  const child = procs.spawn('ours', process.execPath, args, { cwd: ROOT })
  void child.exited.then(() => rmSync(dir, { recursive: true, force: true }))
  const ready = procs
    .waitForLine(child, (v) => v?.msg === 'listening', START_TIMEOUT_MS)
    .then(() => waitForTurn(port, child))
  await stopUnless(procs, child, ready)
  return { key: 'ours', port, child, process: 'standalone' }
}
