// aria2c as a child process for interop tests: its output collected for failure messages, its
// exit awaited, and a stop that leaves no process behind. The flags that keep it on loopback
// are in aria2-flags.ts.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { ARIA2_LOOPBACK } from './aria2-flags.ts'

export const hasAria2 = spawnSync('aria2c', ['--version'], { stdio: 'ignore' }).status === 0

export interface Aria2 {
  child: ChildProcess
  /** stdout and stderr so far, for assertion messages. */
  output: () => string
  exit: Promise<number | null>
  /** SIGTERM unless it has exited; resolves once it has. */
  stop(): Promise<void>
}

/** Runs aria2c with `flags` (the loopback set by default) followed by `args`. */
export function spawnAria2(args: string[], flags: readonly string[] = ARIA2_LOOPBACK): Aria2 {
  const child = spawn('aria2c', [...flags, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c))
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c))
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    output: () => output,
    exit,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exit
    },
  }
}
