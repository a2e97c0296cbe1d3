// A NAT lab in Linux network namespaces (root only): an "internet" router namespace, a relay
// namespace at 203.0.113.1, and home routers (cone or symmetric NAT, dropping unsolicited
// input on their WAN side as home routers do, optionally dropping all UDP to the WAN) each
// with one or more hosts on a LAN where a Chromium driver (e2e/nat/driver.ts) runs.
//
// Every link is made inside the namespaces (`ip -n NS link add … netns OTHER`), so nothing is
// created in the machine's own namespace and nothing can reach the real network: the lab
// has no link out. Names carry `mnat-<pid>-<random>-`, unique per run; namespaces left by a
// run whose process is gone are removed at the next start. `destroy()` kills what runs in
// the lab's namespaces, deletes them (their veths go with them) and the lab's temporary
// directory, however the run ended.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NAME_PREFIX = 'mnat-'

/** The relay's address on the lab's internet, and its one port (app, trackers, API, STUN/TURN). */
export const RELAY_IP = '203.0.113.1'
export const RELAY_PORT = 8080
export const COTURN_PORT = 3478

export type NatKind = 'cone' | 'symmetric'

export interface RouterSpec {
  /** cone: MASQUERADE (keeps the source port); symmetric: MASQUERADE --random. */
  nat: NatKind
  /** Drop every UDP packet from the LAN to the WAN. */
  blockUdp?: boolean
  /** Hosts on the LAN (default 1). */
  hosts?: number
}

/** Each router's WAN (on the lab's internet) and LAN, in TEST-NET and private ranges. */
const ROUTER_NETS = [
  { wan: '198.51.100', lan: '10.0.1' },
  { wan: '192.0.2', lan: '192.168.1' },
  { wan: '198.18.0', lan: '10.0.2' },
]

/** Whether this process can build the lab, or why not (for test.skip). */
export function labUnavailable(): string | null {
  if (process.platform !== 'linux') return 'the NAT lab needs Linux network namespaces'
  if (process.getuid?.() !== 0) return 'the NAT lab needs root (network namespaces, iptables)'
  for (const tool of ['ip', 'iptables']) {
    if (!which(tool)) return `the NAT lab needs \`${tool}\` on PATH`
  }
  return null
}

export function which(name: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    const e = err as { stderr?: string; message: string }
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`)
  }
}

const ip = (...args: string[]) => run('ip', args)
const inNs = (ns: string, cmd: string, ...args: string[]) =>
  run('ip', ['netns', 'exec', ns, cmd, ...args])

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function listNamespaces(): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? ''
  return out
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter(Boolean)
}

/** Kills every process inside `ns` (all started by a lab) and deletes it. */
function removeNamespace(ns: string): void {
  for (let i = 0; i < 20; i++) {
    const pids = (spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '')
      .split('\n')
      .map(Number)
      .filter((pid) => pid > 0)
    if (pids.length === 0) break
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // Gone already.
      }
    }
    spawnSync('sleep', ['0.1'])
  }
  spawnSync('ip', ['netns', 'del', ns])
}

/** Removes namespaces (and temporary directories) left by lab runs whose process is gone. */
export function cleanLeftovers(): void {
  for (const ns of listNamespaces()) {
    const m = new RegExp(`^${NAME_PREFIX}(\\d+)-`).exec(ns)
    if (m && !alive(Number(m[1]))) removeNamespace(ns)
  }
}

/** A process running inside a namespace, its stdout read as JSON lines. */
export class NsProcess {
  readonly child: ChildProcess
  readonly lines: Record<string, unknown>[] = []
  stderr = ''
  readonly exited: Promise<number | null>
  #waiters: (() => void)[] = []
  #exitCode: number | null | undefined

  constructor(
    readonly name: string,
    ns: string,
    cmd: string,
    args: string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
  ) {
    this.child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.#exitCode = code
        this.#wake()
        resolve(code)
      })
      this.child.once('error', () => {
        this.#exitCode = null
        this.#wake()
        resolve(null)
      })
    })
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      options.log?.(`${name}: ${line}`)
      try {
        const value = JSON.parse(line)
        if (value && typeof value === 'object') this.lines.push(value)
      } catch {
        // Not a JSON line (coturn's log): kept in the log only.
      }
      this.#wake()
    })
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-20_000)
      for (const line of chunk.split('\n')) if (line) options.log?.(`${name} (stderr): ${line}`)
    })
  }

  get running(): boolean {
    return this.#exitCode === undefined
  }

  #wake() {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  /** The first line (already read or to come) that `match` accepts. */
  async next(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<Record<string, unknown>> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const found = this.lines.find(match)
      if (found) return found
      const failed = this.lines.find((l) => l.event === 'error')
      if (failed) throw new Error(`${this.name}: ${String(failed.message)}`)
      if (!this.running) {
        throw new Error(`${this.name} exited (${this.#exitCode}) before ${what}\n${this.stderr}`)
      }
      const left = until - Date.now()
      if (left <= 0) throw new Error(`${this.name}: no ${what} after ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** The last line `match` accepts so far, if any. */
  last(match: (line: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    return this.lines.findLast(match)
  }

  /** Closes its stdin (drivers quit on that), then SIGTERM, then SIGKILL. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return
    this.child.stdin?.end()
    const quit = (ms: number) =>
      Promise.race([this.exited.then(() => true), new Promise((r) => setTimeout(r, ms, false))])
    if (await quit(graceMs)) return
    this.child.kill('SIGTERM')
    if (await quit(graceMs)) return
    this.child.kill('SIGKILL')
    await quit(graceMs)
  }
}

export interface Host {
  /** a1, a2, b1…: router letter and host number. */
  name: string
  ns: string
  ip: string
}

export interface LabOptions {
  routers: RouterSpec[]
  /** Receives every line the lab's processes print (for a test's attachment or stderr). */
  log?: (line: string) => void
}

export interface RelayOptions {
  /** Flags after the lab's own (--host, --port, --public-url, --data-dir, --app-dir). */
  args?: string[]
  /** --tls-self-signed and an https:// public URL. */
  tls?: boolean
}

export interface DriverOptions {
  role: 'seed' | 'fetch'
  origin: string
  shareUrl?: string
  sizeMiB?: number
  name?: string
  tls?: boolean
  /** ms to wait for the first byte and for the whole download. */
  timeoutMs?: number
}

export class NatLab {
  readonly id: string
  readonly dir: string
  readonly hosts: Host[] = []
  readonly relayNs: string
  #namespaces: string[] = []
  #processes: NsProcess[] = []
  #log: (line: string) => void
  #destroyed = false

  private constructor(options: LabOptions) {
    this.id = `${NAME_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`
    this.dir = mkdtempSync(join(tmpdir(), `${this.id}-`))
    this.relayNs = `${this.id}-relay`
    this.#log = options.log ?? (() => {})
  }

  /** Builds the lab; on any failure, removes what it had made and throws. */
  static create(options: LabOptions): NatLab {
    const why = labUnavailable()
    if (why) throw new Error(why)
    cleanLeftovers()
    const lab = new NatLab(options)
    try {
      lab.#build(options.routers)
    } catch (err) {
      lab.#removeAll()
      throw err
    }
    return lab
  }

  #ns(name: string): string {
    const ns = `${this.id}-${name}`
    ip('netns', 'add', ns)
    this.#namespaces.push(ns)
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    return ns
  }

  #build(routers: RouterSpec[]) {
    if (routers.length > ROUTER_NETS.length) throw new Error('too many routers')
    const inet = this.#ns('inet')
    inNs(inet, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')

    const relay = this.#ns('relay')
    ip('-n', inet, 'link', 'add', 'relay', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', relay)
    ip('-n', inet, 'addr', 'add', '203.0.113.254/24', 'dev', 'relay')
    ip('-n', inet, 'link', 'set', 'relay', 'up')
    ip('-n', relay, 'addr', 'add', `${RELAY_IP}/24`, 'dev', 'eth0')
    ip('-n', relay, 'link', 'set', 'eth0', 'up')
    ip('-n', relay, 'route', 'add', 'default', 'via', '203.0.113.254')

    routers.forEach((spec, i) => {
      const letter = String.fromCharCode(97 + i)
      const nets = ROUTER_NETS[i]
      const router = this.#ns(`r${letter}`)
      inNs(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
      const wanIf = `wan${letter}`
      ip('-n', inet, 'link', 'add', wanIf, 'type', 'veth', 'peer', 'name', 'wan', 'netns', router)
      ip('-n', inet, 'addr', 'add', `${nets.wan}.1/24`, 'dev', wanIf)
      ip('-n', inet, 'link', 'set', wanIf, 'up')
      ip('-n', router, 'addr', 'add', `${nets.wan}.2/24`, 'dev', 'wan')
      ip('-n', router, 'link', 'set', 'wan', 'up')
      ip('-n', router, 'route', 'add', 'default', 'via', `${nets.wan}.1`)
      // The LAN is a bridge, so several hosts can share it.
      ip('-n', router, 'link', 'add', 'lan', 'type', 'bridge')
      ip('-n', router, 'addr', 'add', `${nets.lan}.1/24`, 'dev', 'lan')
      ip('-n', router, 'link', 'set', 'lan', 'up')
      for (let h = 1; h <= (spec.hosts ?? 1); h++) {
        const name = `${letter}${h}`
        const host = this.#ns(`h${name}`)
        const hostIp = `${nets.lan}.${h + 1}`
        ip(
          '-n',
          router,
          'link',
          'add',
          `p${h}`,
          'type',
          'veth',
          'peer',
          'name',
          'eth0',
          'netns',
          host,
        )
        ip('-n', router, 'link', 'set', `p${h}`, 'master', 'lan')
        ip('-n', router, 'link', 'set', `p${h}`, 'up')
        ip('-n', host, 'addr', 'add', `${hostIp}/24`, 'dev', 'eth0')
        ip('-n', host, 'link', 'set', 'eth0', 'up')
        ip('-n', host, 'route', 'add', 'default', 'via', `${nets.lan}.1`)
        this.hosts.push({ name, ns: host, ip: hostIp })
      }
      const ipt = (...args: string[]) => inNs(router, 'iptables', ...args)
      ipt(
        '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE',
        ...(spec.nat === 'symmetric' ? ['--random'] : []),
      ) // prettier-ignore
      // A home router: answers to what the LAN sent pass, nothing unsolicited from the WAN.
      for (const chain of ['INPUT', 'FORWARD']) {
        ipt(
          '-A',
          chain,
          '-i',
          'wan',
          '-m',
          'conntrack',
          '--ctstate',
          'ESTABLISHED,RELATED',
          '-j',
          'ACCEPT',
        )
        ipt('-A', chain, '-i', 'wan', '-j', 'DROP')
      }
      if (spec.blockUdp) ipt('-I', 'FORWARD', '-i', 'lan', '-o', 'wan', '-p', 'udp', '-j', 'DROP')
    })
  }

  host(name: string): Host {
    const host = this.hosts.find((h) => h.name === name)
    if (!host) throw new Error(`no host ${name} in the lab`)
    return host
  }

  /** Starts a process inside `ns`; destroy() stops it. */
  spawn(name: string, ns: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): NsProcess {
    const proc = new NsProcess(name, ns, cmd, args, { env, log: this.#log })
    this.#processes.push(proc)
    return proc
  }

  /** The relay in its namespace on 203.0.113.1:8080, serving the built app (dist/app). */
  async startRelay(options: RelayOptions = {}): Promise<{ origin: string; proc: NsProcess }> {
    const scheme = options.tls ? 'https' : 'http'
    const origin = `${scheme}://${RELAY_IP}:${RELAY_PORT}`
    const dataDir = join(this.dir, 'relay-data')
    mkdirSync(dataDir, { recursive: true })
    const proc = this.spawn('relay', this.relayNs, process.execPath, [
      join(ROOT, 'relay/bin.js'),
      '--host', '0.0.0.0',
      '--port', String(RELAY_PORT),
      '--public-url', origin,
      '--data-dir', dataDir,
      '--app-dir', join(ROOT, 'dist/app'),
      '--log-level', 'info',
      ...(options.tls ? ['--tls-self-signed'] : []),
      ...(options.args ?? []),
    ]) // prettier-ignore
    await proc.next((l) => l.msg === 'listening', 60_000, 'listening line')
    return { origin, proc }
  }

  /** A file holding a fresh shared secret (for --turn-secret-file and coturn). */
  secretFile(): { path: string; secret: string } {
    const secret = randomBytes(24).toString('hex')
    const path = join(this.dir, 'turn-secret')
    writeFileSync(path, secret + '\n', { mode: 0o600 })
    return { path, secret }
  }

  /** coturn in the relay's namespace on 203.0.113.1:3478 (UDP and TCP), no TLS. With a
   * secret it authenticates by the TURN REST scheme (--use-auth-secret); STUN needs none. */
  async startCoturn(secret?: string): Promise<NsProcess> {
    const turnserver = which('turnserver')
    if (!turnserver) throw new Error('coturn (turnserver) is not installed')
    const proc = this.spawn('coturn', this.relayNs, turnserver, [
      '-n', // no config file (/etc/turnserver.conf would send the log to syslog)
      '--listening-ip', RELAY_IP,
      '--relay-ip', RELAY_IP,
      '--listening-port', String(COTURN_PORT),
      '--min-port', '49152',
      '--max-port', '49252',
      '--realm', 'monsoon',
      ...(secret ? ['--use-auth-secret', `--static-auth-secret=${secret}`] : ['--no-auth']),
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--log-file', 'stdout',
      '--simple-log',
      '--pidfile', join(this.dir, 'turnserver.pid'),
      '--userdb', join(this.dir, 'turndb'),
      '--no-rfc5780',
      '--no-stun-backward-compatibility',
    ]) // prettier-ignore
    // coturn has no "ready" line of its own to rely on across versions: wait for its
    // listener on the UDP port to show up in the namespace.
    const until = Date.now() + 15_000
    for (;;) {
      const ss = spawnSync('ip', ['netns', 'exec', this.relayNs, 'ss', '-lnu'], {
        encoding: 'utf8',
      }).stdout
      if (ss?.includes(`${RELAY_IP}:${COTURN_PORT}`)) return proc
      if (!proc.running) throw new Error(`coturn exited: ${proc.stderr}`)
      if (Date.now() > until) throw new Error('coturn did not open its UDP port in 15 s')
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** A Chromium driver (e2e/nat/driver.ts) inside `host`'s namespace. */
  startDriver(hostName: string, options: DriverOptions): NsProcess {
    const host = this.host(hostName)
    const dir = join(this.dir, `driver-${hostName}-${options.role}`)
    mkdirSync(dir, { recursive: true })
    const args = [
      '--import', 'tsx',
      join(ROOT, 'e2e/nat/driver.ts'),
      '--role', options.role,
      '--origin', options.origin,
      '--dir', dir,
      ...(options.shareUrl ? ['--share-url', options.shareUrl] : []),
      ...(options.sizeMiB ? ['--size-mib', String(options.sizeMiB)] : []),
      ...(options.name ? ['--name', options.name] : []),
      ...(options.tls ? ['--tls'] : []),
      ...(options.timeoutMs ? ['--timeout-ms', String(options.timeoutMs)] : []),
    ] // prettier-ignore
    return this.spawn(`${options.role}@${hostName}`, host.ns, process.execPath, args)
  }

  /** Stops every process, deletes the namespaces (their veths go with them) and the
   * temporary directory. Safe to call more than once. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    await Promise.all(this.#processes.map((p) => p.stop(3000).catch(() => {})))
    this.#removeAll()
  }

  #removeAll() {
    for (const ns of this.#namespaces.reverse()) removeNamespace(ns)
    this.#namespaces = []
    rmSync(this.dir, { recursive: true, force: true })
  }

  /** Synchronous last resort (process 'exit'): kill what runs in the lab and remove it. */
  destroyNow(): void {
    if (this.#destroyed) return
    this.#destroyed = true
    this.#removeAll()
  }
}
