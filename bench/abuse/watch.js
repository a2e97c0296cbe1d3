// What bench/abuse reads from the processes it runs: their JSON lines on stdout, the
// relay's resident memory from /proc, and the refusals it counted in /metrics.

import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { withDeadline } from '../lib/processes.js'

/** A child's stdout as JSON lines: all seen so far, and a wait for the next that matches. */
export function jsonLines(child) {
  const seen = []
  const waiters = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    let value
    try {
      value = JSON.parse(line)
    } catch {
      return
    }
    seen.push(value)
    for (const w of [...waiters]) {
      if (!w.match(value)) continue
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve(value)
    }
  })
  const next = (match, ms, what) => {
    const hit = seen.find(match)
    if (hit) return Promise.resolve(hit)
    const wait = new Promise((resolve, reject) => {
      waiters.push({ match, resolve })
      void child.finished.then(({ code, signal }) => {
        // Lines are all read by 'close': a match would have been resolved by now.
        reject(new Error(`${child.benchName} exited (${signal ?? code}) before ${what}`))
      })
    })
    return withDeadline(wait, ms, what)
  }
  return { seen, next }
}

/** Peak resident memory of some processes, from /proc/PID/status, every 250 ms. */
export class RssSampler {
  peaks = new Map()
  #timer = null
  constructor(pids) {
    this.pids = pids
  }
  start() {
    const sample = () => {
      for (const pid of this.pids) {
        const mb = rssMb(pid)
        if (mb !== null) this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, mb))
      }
    }
    sample()
    this.#timer = setInterval(sample, 250).unref()
  }
  stop() {
    clearInterval(this.#timer)
  }
  peak(pid) {
    return this.peaks.get(pid) ?? null
  }
}

export function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Math.round(Number(m[1]) / 1024) : null
  } catch {
    return null
  }
}

/** Refusals the relay counted, by reason (only those above zero); null when it did not
 * answer in time (still busy with what the attack left). */
export async function refusals(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(5000),
    })
    const out = {}
    const text = await res.text()
    for (const m of text.matchAll(/^monsoon_refusals_total\{reason="([^"]+)"\} (\d+)/gm)) {
      if (Number(m[2]) > 0) out[m[1]] = Number(m[2])
    }
    return out
  } catch {
    return null
  }
}
