// The NAT lab's cases, shared by the end-to-end spec (e2e/nat.spec.ts) and the benchmark
// (bench/nat): each builds a lab, starts a relay (and coturn when the case needs it), shares
// a file from one home's browser and fetches it in another's, and returns what both drivers
// printed. Which peer path each side must show is part of the case.

import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import {
  COTURN_PORT,
  NatLab,
  RELAY_IP,
  ROOT,
  which,
  type NsProcess,
  type RouterSpec,
} from './lab.ts'

export type PeerPath =
  'host' | 'srflx' | 'relay-udp' | 'relay-tcp' | 'relay-tls' | 'remote-relay' | 'tcp' | 'unknown'

export interface NatCase {
  name: string
  routers: RouterSpec[]
  seedHost: string
  fetchHost: string
  tls?: boolean
  /** Relay flags beyond the lab's own; `secretFile` is replaced by a fresh secret's path. */
  relayArgs?: string[]
  /** coturn in the relay namespace: 'stun' (no auth) or 'turn' (the relay's shared secret). */
  coturn?: 'stun' | 'turn'
  /** Paths each side may show; `some` must hold for at least one side. */
  seedPaths?: PeerPath[]
  fetchPaths?: PeerPath[]
  some?: PeerPath[]
  /** Relay flags this case depends on (checked against `relay/bin.js --help`). */
  needsFlags?: string[]
}

const SECRET = '{secretFile}'

export const CASES: NatCase[] = [
  {
    name: 'one network',
    routers: [{ nat: 'cone', hosts: 2 }],
    seedHost: 'a1',
    fetchHost: 'a2',
    seedPaths: ['host'],
    fetchPaths: ['host'],
  },
  {
    name: 'cone NAT both sides, STUN from coturn',
    routers: [{ nat: 'cone' }, { nat: 'cone' }],
    seedHost: 'a1',
    fetchHost: 'b1',
    coturn: 'stun',
    relayArgs: ['--ice-server', `stun:${RELAY_IP}:${COTURN_PORT}`],
    seedPaths: ['srflx'],
    fetchPaths: ['srflx'],
  },
  {
    name: 'cone NAT both sides, default relay flags',
    routers: [{ nat: 'cone' }, { nat: 'cone' }],
    seedHost: 'a1',
    fetchHost: 'b1',
    seedPaths: ['srflx'],
    fetchPaths: ['srflx'],
    needsFlags: ['--stun'],
  },
  {
    name: 'symmetric NAT both sides',
    routers: [{ nat: 'symmetric' }, { nat: 'symmetric' }],
    seedHost: 'a1',
    fetchHost: 'b1',
    seedPaths: ['relay-udp', 'remote-relay'],
    fetchPaths: ['relay-udp', 'remote-relay'],
    some: ['relay-udp'],
    needsFlags: ['--turn'],
  },
  {
    name: 'UDP dropped on the fetching side',
    routers: [{ nat: 'cone' }, { nat: 'cone', blockUdp: true }],
    seedHost: 'a1',
    fetchHost: 'b1',
    // The seeder has UDP, but may take its own TURN allocation (over either transport) too.
    seedPaths: ['remote-relay', 'relay-udp', 'relay-tcp'],
    fetchPaths: ['relay-tcp'],
    needsFlags: ['--turn'],
  },
  {
    name: 'UDP dropped on the fetching side, relay over TLS',
    routers: [{ nat: 'cone' }, { nat: 'cone', blockUdp: true }],
    seedHost: 'a1',
    fetchHost: 'b1',
    tls: true,
    seedPaths: ['remote-relay', 'relay-udp', 'relay-tcp', 'relay-tls'],
    fetchPaths: ['relay-tls'],
    needsFlags: ['--turn'],
  },
  {
    name: 'symmetric NAT both sides, TURN from coturn',
    routers: [{ nat: 'symmetric' }, { nat: 'symmetric' }],
    seedHost: 'a1',
    fetchHost: 'b1',
    coturn: 'turn',
    relayArgs: [
      '--no-turn',
      '--ice-server',
      `turn:${RELAY_IP}:${COTURN_PORT}`,
      '--turn-secret-file',
      SECRET,
    ],
    seedPaths: ['relay-udp', 'remote-relay'],
    fetchPaths: ['relay-udp', 'remote-relay'],
    some: ['relay-udp'],
    needsFlags: ['--no-turn', '--turn-secret-file'],
  },
]

/** Whether the built app (dist/app) has the torrent view's peer paths
 * (data-testid="peer-path"); until it does, paths come from getStats() alone. */
export function appShowsPeerPaths(): boolean {
  const assets = join(ROOT, 'dist/app/assets')
  if (!existsSync(assets)) return false
  return readdirSync(assets)
    .filter((f) => f.endsWith('.js'))
    .some((f) => readFileSync(join(assets, f), 'utf8').includes('peer-path'))
}

let help: string | undefined
/** The relay's --help text (flags it has today). */
export function relayHelp(): string {
  help ??= spawnSync(process.execPath, [join(ROOT, 'relay/bin.js'), '--help'], {
    encoding: 'utf8',
  }).stdout
  return help
}

/** Why a case cannot run on this machine or with this relay, or null. */
export function caseUnavailable(c: NatCase): string | null {
  if (c.coturn && !which('turnserver')) return 'coturn (turnserver) is not installed'
  const text = relayHelp()
  // A relay that cannot even print its help fails the case when it is started instead.
  if (!text.includes('--port')) return null
  const missing = (c.needsFlags ?? []).filter(
    (flag) => !new RegExp(`(^|\\s)${flag.replace(/[-]/g, '\\-')}[\\s,/]`, 'm').test(text),
  )
  return missing.length
    ? `the relay has no ${missing.join(', ')} yet (built-in STUN/TURN): see relay/bin.js --help`
    : null
}

export interface PathReport {
  /** From Chromium's getStats(): the selected pair of each connected peer connection. */
  stats: { path: PeerPath; local: Record<string, unknown>; remote: Record<string, unknown> }[]
  /** What the torrent view shows (data-path of each peer row), or null without peer rows. */
  ui: PeerPath[] | null
}

export interface CaseResult {
  seeded: { sha256: string; bytes: number; shareUrl: string }
  fetched: { sha256: string; bytes: number; ttfbMs: number; totalMs: number } & PathReport
  /** The seeder's view of its peer, read once the fetch was done. */
  seedPaths: PathReport
}

export interface RunOptions {
  sizeMiB?: number
  /** ms the fetcher waits for its first byte, and again for the whole file. */
  timeoutMs?: number
  log?: (line: string) => void
}

/** Builds the case's lab, runs one transfer, and removes the lab however it ends. */
export async function runCase(c: NatCase, options: RunOptions = {}): Promise<CaseResult> {
  const lab = NatLab.create({ routers: c.routers, log: options.log })
  const onExit = () => lab.destroyNow()
  process.once('exit', onExit)
  try {
    return await runInLab(lab, c, options)
  } finally {
    process.off('exit', onExit)
    await lab.destroy()
  }
}

async function runInLab(lab: NatLab, c: NatCase, options: RunOptions): Promise<CaseResult> {
  const timeoutMs = options.timeoutMs ?? 60_000
  let relayArgs = c.relayArgs ?? []
  let secret: string | undefined
  if (relayArgs.includes(SECRET) || c.coturn === 'turn') {
    const file = lab.secretFile()
    secret = file.secret
    relayArgs = relayArgs.map((a) => (a === SECRET ? file.path : a))
  }
  if (c.coturn) await lab.startCoturn(c.coturn === 'turn' ? secret : undefined)
  const { origin } = await lab.startRelay({ args: relayArgs, tls: c.tls })

  const seeder = lab.startDriver(c.seedHost, {
    role: 'seed',
    origin,
    tls: c.tls,
    sizeMiB: options.sizeMiB ?? 4,
    timeoutMs,
  })
  const shared = await seeder.next((l) => l.event === 'shared', timeoutMs + 30_000, 'share link')
  const fetcher = lab.startDriver(c.fetchHost, {
    role: 'fetch',
    origin,
    tls: c.tls,
    shareUrl: String(shared.shareUrl),
    timeoutMs,
  })
  const done = await fetcher.next((l) => l.event === 'done', 2 * timeoutMs + 30_000, 'download')
  // Both drivers print their paths on every change, twice a second: wait (a bounded while,
  // without failing) for each to see its peer connected in getStats() and, when the app
  // has the peer view, in the view's rows too, with a known path; else take the last they
  // printed.
  const view = appShowsPeerPaths()
  const known = (paths: unknown) =>
    Array.isArray(paths) && paths.length > 0 && paths.every((p) => p !== 'unknown')
  const settled = (l: Record<string, unknown>) =>
    l.event === 'path' &&
    known((l.stats as { path: string }[] | undefined)?.map((p) => p.path)) &&
    (!view || known(l.ui))
  const settle = async (proc: NsProcess, fallback?: Record<string, unknown>) =>
    (await proc.next(settled, 15_000, 'connected peer').catch(() => undefined)) ??
    proc.last((l) => l.event === 'path' && Array.isArray(l.stats) && l.stats.length > 0) ??
    fallback ??
    proc.last((l) => l.event === 'path')
  const [seedLine, fetchLine] = await Promise.all([settle(seeder), settle(fetcher, done)])
  return {
    seeded: shared as unknown as CaseResult['seeded'],
    fetched: {
      ...(done as unknown as CaseResult['fetched']),
      stats: (fetchLine?.stats ?? done.stats) as PathReport['stats'],
      ui: (fetchLine?.ui ?? done.ui) as PathReport['ui'],
    },
    seedPaths: (seedLine ?? { stats: [], ui: null }) as unknown as PathReport,
  }
}
