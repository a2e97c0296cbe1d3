// CPU time of a process and of the whole machine, from Linux's /proc (null elsewhere), so a
// benchmark can say who was busy: a server at 100 % of one core is the bottleneck; a busy
// machine means the load generator (or another tenant) competed with it.

import { readFileSync } from 'node:fs'

/** Linux's USER_HZ: /proc times are in these ticks (100 on every mainstream architecture). */
const TICKS_PER_SECOND = 100

/** User + system CPU seconds used so far by `pid`, or null. */
export function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may contain spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return null
  }
}

/** Busy and total CPU ticks of the machine (all cores), or null. */
export function machineTicks() {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1)
    const t = cpu.map(Number)
    const idle = t[3] + (t[4] || 0)
    const total = t.reduce((a, b) => a + (b || 0), 0)
    return { busy: total - idle, total }
  } catch {
    return null
  }
}

/**
 * Sums CPU use of one process over several measured windows (`start()` … `stop()`), and
 * reports it as a percentage of one core, beside how busy the whole machine was.
 */
export class CpuMeter {
  #pid
  #read
  #wall = 0
  #cpu = 0
  #busy = 0
  #total = 0
  #ok = true
  #open = null

  /** `read`: CPU seconds of `pid` so far (e.g. summed over its children); default its own. */
  constructor(pid, read = processCpuSeconds) {
    this.#pid = pid
    this.#read = read
  }

  start() {
    this.#open = {
      t: performance.now(),
      cpu: this.#read(this.#pid),
      machine: machineTicks(),
    }
  }

  stop() {
    const o = this.#open
    if (!o) return
    this.#open = null
    const cpu = this.#read(this.#pid)
    const machine = machineTicks()
    if (o.cpu === null || cpu === null || o.machine === null || machine === null) {
      this.#ok = false
      return
    }
    this.#wall += (performance.now() - o.t) / 1000
    this.#cpu += cpu - o.cpu
    this.#busy += machine.busy - o.machine.busy
    this.#total += machine.total - o.machine.total
  }

  /** CPU seconds the process used inside the measured windows, or null. */
  get cpuSeconds() {
    return this.#ok && this.#wall > 0 ? this.#cpu : null
  }

  /** `{ server_cpu_pct, machine_busy_pct }`, nulls when /proc could not be read. */
  result() {
    if (!this.#ok || this.#wall === 0) return { server_cpu_pct: null, machine_busy_pct: null }
    return {
      server_cpu_pct: Math.round((this.#cpu / this.#wall) * 100),
      machine_busy_pct: Math.round((this.#busy / Math.max(1, this.#total)) * 100),
    }
  }
}
