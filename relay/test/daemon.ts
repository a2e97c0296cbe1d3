// A classic client's daemon (qbittorrent-nox, transmission-daemon) as a child process for
// interop tests: output collected for failure messages, a wait until its control API answers,
// and a stop that leaves no process and no state directory behind.

import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'

/** After SIGTERM, how long a daemon may take to save its state before SIGKILL. */
const STOP_TIMEOUT_MS = 5_000
const READY_POLL_MS = 250

export interface Daemon {
  readonly child: ChildProcess
  /** stdout and stderr so far. */
  output(): string
  running(): boolean
  /** SIGTERM, SIGKILL if it lingers; then removes `stateDir`. */
  stop(): Promise<void>
}

/** Spawns `command` with `args`; `stateDir` (its profile or config directory) goes on stop. */
export function spawnDaemon(command: string, args: string[], stateDir: string): Daemon {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c))
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const running = () => child.exitCode === null && child.signalCode === null
  return {
    child,
    output: () => output,
    running,
    async stop() {
      if (running()) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
        await exited
        clearTimeout(timer)
      }
      rmSync(stateDir, { recursive: true, force: true })
    },
  }
}

/**
 * Polls `answers` until it resolves true. Stops the daemon and throws, with its output, when
 * it exits first or `timeoutMs` passes.
 */
export async function untilAnswering(
  daemon: Daemon,
  answers: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!daemon.running()) {
      await daemon.stop()
      throw new Error(`${daemon.child.spawnfile} exited at start:\n${daemon.output()}`)
    }
    if (await answers().catch(() => false)) return
    if (Date.now() > deadline) {
      await daemon.stop()
      throw new Error(
        `${daemon.child.spawnfile} did not answer in ${timeoutMs} ms:\n${daemon.output()}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS))
  }
}
