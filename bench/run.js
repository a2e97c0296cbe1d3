#!/usr/bin/env node
// `npm run bench [-- NAME...]`: runs benchmarks, each in its own child process (and process
// group, so whatever it started goes with it), and prints exactly one JSON line per
// benchmark on stdout. Progress and diagnostics go to stderr. A benchmark is a folder here
// with an index.js that prints its JSON line last on stdout.

import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url))
const OUT_DIR = join(BENCH_DIR, 'out')
const KILL_GRACE_MS = 5000

const available = readdirSync(BENCH_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(BENCH_DIR, d.name, 'index.js')))
  .map((d) => d.name)
  .sort()

/** A benchmark's one-line summary: the first comment line of its index.js. */
function summary(name) {
  const first = readFileSync(join(BENCH_DIR, name, 'index.js'), 'utf8').split('\n')[0]
  return first.replace(/^\/\/\s*/, '').replace(new RegExp(`^${name}:\\s*`), '')
}

const DEFAULT_TIMEOUT_S = 300

/** A benchmark's own default for --timeout, from a `// timeout: S` line in its index.js's
 * header (for those that need longer than most at their default size). */
function ownTimeout(name) {
  const m = readFileSync(join(BENCH_DIR, name, 'index.js'), 'utf8').match(/^\/\/ timeout: (\d+)/m)
  return m ? Number(m[1]) : DEFAULT_TIMEOUT_S
}

const HELP = `Usage: npm run bench [-- [options] [NAME...]]
       node bench/run.js [options] [NAME...]

Runs the named benchmarks (all when none is named), one after the other, each in its own
process, and prints one JSON line per benchmark on stdout: our figure, the reference
measured in the same run, and their ratio. Progress goes to stderr. The last result of
each is also written to bench/out/NAME.json.

Benchmarks:
${available.map((n) => `  ${n.padEnd(14)}${summary(n)}`).join('\n')}

Options:
  --duration S   seconds of measured load per server (default 10)
  --warmup S     seconds of warm-up per server (default 2)
  --timeout S    stop a benchmark that runs longer than this (default 300, or the
                 benchmark's own: transfer and swarm take longer)
  --profile DIR  tracker-http: run our relay under node --cpu-prof, profile into DIR
  --relay FILE   the relay/bin.js to measure (default: this checkout's), e.g. a scratch
                 copy with a candidate change
  --listings N   catalog benchmarks: listings in the catalog (default: each one's own,
                 quick size; 1000000 for the issue 23 figures)
  --list         print the benchmark names and exit
  -h, --help     this text`

let parsed
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      timeout: { type: 'string' },
      profile: { type: 'string' },
      relay: { type: 'string' },
      listings: { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
} catch (err) {
  process.stderr.write(`bench: ${err.message}\n${HELP}\n`)
  process.exit(2)
}
const { values, positionals } = parsed
if (values.help) {
  process.stdout.write(HELP + '\n')
  process.exit(0)
}
if (values.list) {
  process.stdout.write(available.join('\n') + '\n')
  process.exit(0)
}
const unknown = positionals.filter((n) => !available.includes(n))
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; have ${available}\n`)
  process.exit(2)
}
for (const [flag, value] of Object.entries({
  duration: values.duration,
  warmup: values.warmup,
  timeout: values.timeout,
})) {
  if (value !== undefined && !(Number(value) > 0)) {
    process.stderr.write(`bench: --${flag} must be a positive number of seconds\n`)
    process.exit(2)
  }
}
if (values.listings !== undefined && !/^[1-9]\d{0,8}$/.test(values.listings)) {
  process.stderr.write('bench: --listings must be a whole number from 1 to 999999999\n')
  process.exit(2)
}

const env = { ...process.env }
if (values.listings) env.MONSOON_BENCH_LISTINGS = values.listings
if (values.duration) env.MONSOON_BENCH_DURATION = values.duration
if (values.warmup) env.MONSOON_BENCH_WARMUP = values.warmup
if (values.profile) env.MONSOON_BENCH_PROFILE = values.profile
if (values.relay) env.MONSOON_BENCH_RELAY_BIN = values.relay

let current = null
const killGroup = (child, signal) => {
  try {
    process.kill(-child.pid, signal)
  } catch {
    // The group is gone already.
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    const child = current
    if (child) {
      killGroup(child, 'SIGTERM')
      setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS).unref()
    }
    process.exitCode = 130
  })
}

/** Runs one benchmark; resolves with its result object (an `error` field when it failed). */
function runOne(name) {
  const timeoutMs = Number(values.timeout ?? ownTimeout(name)) * 1000
  return new Promise((resolve) => {
    const started = Date.now()
    process.stderr.write(`[bench] ${name}: running\n`)
    const child = spawn(process.execPath, [join(BENCH_DIR, name, 'index.js')], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    })
    current = child
    let out = ''
    let timedOut = false
    child.stdout.on('data', (c) => (out += c))
    const timer = setTimeout(() => {
      timedOut = true
      process.stderr.write(`[bench] ${name}: over ${timeoutMs / 1000} s, stopping it\n`)
      killGroup(child, 'SIGTERM')
      setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS).unref()
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      current = null
      // Anything the benchmark left behind in its group goes too.
      killGroup(child, 'SIGKILL')
      let result = null
      for (const line of out.trim().split('\n').reverse()) {
        try {
          const value = JSON.parse(line)
          if (value && typeof value === 'object' && value.bench === name) {
            result = value
            break
          }
        } catch {
          // Not the result line.
        }
      }
      if (!result) {
        const why = timedOut ? 'timed out' : `exited (${signal ?? code}) without a result`
        result = { bench: name, error: why }
      } else if (timedOut && !result.error) {
        result.error = 'timed out'
      }
      process.stderr.write(
        `[bench] ${name}: done in ${Math.round((Date.now() - started) / 1000)} s\n`,
      )
      resolve(result)
    })
  })
}

const names = positionals.length > 0 ? positionals : available
let failed = false
for (const name of names) {
  if (process.exitCode === 130) break
  const result = await runOne(name)
  if (result.error) failed = true
  process.stdout.write(JSON.stringify(result) + '\n')
  try {
    mkdirSync(OUT_DIR, { recursive: true })
    writeFileSync(join(OUT_DIR, `${name}.json`), JSON.stringify(result, null, 2) + '\n')
  } catch (err) {
    process.stderr.write(`[bench] cannot write ${OUT_DIR}: ${err.message}\n`)
  }
}
if (failed && process.exitCode !== 130) process.exitCode = 1
