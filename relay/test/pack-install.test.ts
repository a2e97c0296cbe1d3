// The relay as an operator installs it: `npm pack` (whose prepack builds the app), then
// `npm install -g` of the tarball into a fresh prefix, then the installed `monsoon-relay`
// answering --help and serving the packaged app and its health from another directory.
//
// `npm test` runs this file alone, after the e2e run (`npm run test:pack`), so the pack runs
// in the checkout itself: nothing else is serving dist/app meanwhile. The e2e run's build is
// packed as it is when no source of the app changed since (prepack would build the same bytes
// again, a minute on 2 cores); otherwise prepack builds it. (Packing a copy of the checkout
// whose node_modules is a symlink gave the bundled dependencies paths with "..", which npm
// then refused to unpack: the pinned ip-set went missing.)

import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OPTIONS } from '../config.ts'
import { runRelayCli, startRelay } from './relay-process.ts'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
/** Building the app and compiling better-sqlite3 for the prefix take minutes on 2 cores. */
const SETUP_TIMEOUT_MS = 15 * 60_000
/** Output kept from a failed npm command, enough for its error and not its warnings. */
const NPM_OUTPUT_TAIL_CHARS = 4000

/** Files of the checkout as a fresh clone with these changes would have them. */
function checkoutFiles(): string[] | null {
  const listed = spawnSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { cwd: REPO, encoding: 'utf8' },
  )
  if (listed.status !== 0) return null
  return listed.stdout.split('\0').filter((path) => path && existsSync(join(REPO, path)))
}

/** npm_* variables a nested npm keeps: where its cache, settings and registry are. */
const NPM_SETTINGS_KEPT = new Set([
  'npm_config_cache',
  'npm_config_userconfig',
  'npm_config_globalconfig',
  'npm_config_registry',
  'npm_config_cafile',
  'npm_config_nodedir',
])

/** Runs npm; resolves with its stdout, rejects with the tail of its output. */
function npm(args: string[], cwd: string): Promise<string> {
  // Under `npm test`, npm hands its scripts npm_* variables (the prefix, the project's
  // folder, the log level): a nested npm must not take those for its own.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('npm_') || NPM_SETTINGS_KEPT.has(name),
    ),
  )
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => ((stdout += c), (output += c)))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c))
    child.once('error', reject)
    child.once('close', (code) => {
      if (code === 0) resolve(stdout)
      else
        reject(new Error(`npm ${args[0]} exited ${code}:\n${output.slice(-NPM_OUTPUT_TAIL_CHARS)}`))
    })
  })
}

/** Where the app's build comes from: everything Vite reads. */
const APP_SOURCES = /^(app|shared|public)\/|^(index\.html|vite\.config\.ts|package(-lock)?\.json)$/
const BUILT_APP = 'dist/app'

/** Whether dist/app was built after the last change to any file it is built from. */
function builtAppIsCurrent(paths: string[]): boolean {
  const index = join(REPO, BUILT_APP, 'index.html')
  if (!existsSync(index)) return false
  const built = statSync(index).mtimeMs
  return paths.every(
    (path) => !APP_SOURCES.test(path) || statSync(join(REPO, path)).mtimeMs < built,
  )
}

const files = checkoutFiles()

describe.skipIf(files === null)('npm pack, npm install -g, monsoon-relay', () => {
  let work = ''
  let prefix = ''
  let bin = ''
  let installed = ''
  let packed: string[] = []

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'monsoon-pack-'))
    prefix = join(work, 'prefix')
    bin = join(prefix, 'bin', 'monsoon-relay')
    installed = join(prefix, 'lib', 'node_modules', 'monsoon')
    const pack = ['pack', '--json', '--pack-destination', work]
    if (builtAppIsCurrent(files!)) pack.push('--ignore-scripts')
    // prepack's build prints to the same stdout: the report is the JSON after it.
    const stdout = await npm(pack, REPO)
    const [report] = JSON.parse(stdout.slice(stdout.search(/^\[$/m)))
    packed = (report.files as { path: string }[]).map((f) => f.path)
    // npm 11 resolves a tarball's dependencies from the registry's full documents, which
    // `npm ci` does not cache: the first run fetches them, later ones read the cache.
    // The lock's pins (ip-set, node-datachannel) come along as bundled dependencies.
    await npm(
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(work, report.filename),
      ],
      work,
    )
  }, SETUP_TIMEOUT_MS)

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('packs the built app, the relay and the systemd unit, and no tests', () => {
    for (const path of ['dist/app/index.html', 'relay/bin.js', 'relay/main.ts']) {
      expect(packed).toContain(path)
    }
    expect(packed).toContain('packaging/monsoon-relay.service')
    const own = packed.filter((path) => !path.startsWith('node_modules/'))
    expect(own.filter((path) => /\.test\.ts$|(^|\/)test\//.test(path))).toEqual([])
  })

  it('installs the versions the lock pins, not what their dependents ask for', () => {
    for (const name of ['ip-set', 'node-datachannel']) {
      const version = (dir: string) =>
        JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version
      expect(version(installed), name).toBe(version(REPO))
    }
  })

  it('monsoon-relay --help exits 0 and lists every option', async () => {
    const { code, stdout } = await runRelayCli(['--help'], bin)
    expect(code).toBe(0)
    for (const spec of OPTIONS) expect(stdout).toContain(`--${spec.flag}`)
  })

  it('serves the packaged app and its health, and bridges, when started elsewhere', async () => {
    const elsewhere = mkdtempSync(join(work, 'cwd-'))
    // --bridge loads WebTorrent and node-datachannel: the dependencies the package pins.
    const relay = await startRelay({ bin, cwd: elsewhere, args: ['--bridge'] })
    try {
      expect(relay.logs.map((entry) => entry.msg)).toContain('bridge listening')
      const page = await fetch(`${relay.url}/`)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('<title>Monsoon</title>')
      const health = (await (await fetch(`${relay.url}/health`)).json()) as { ok: boolean }
      expect(health.ok).toBe(true)
      expect(await (await fetch(`${relay.url}/metrics`)).text()).toContain('monsoon_')
    } finally {
      expect(await relay.stop()).toBe(0)
    }
  })
})
