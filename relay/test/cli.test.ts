// The relay's executable as an operator meets it: --help, refusals of bad options with exit
// code 2, a clean stop on SIGTERM, and a clear error when the port is taken.

import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { OPTIONS } from '../config.ts'
import { runRelayCli, startRelay } from './relay-process.ts'

describe('monsoon-relay command line', () => {
  it('--help lists every option with its default and exits 0', async () => {
    const { code, stdout } = await runRelayCli(['--help'])
    expect(code).toBe(0)
    for (const spec of OPTIONS) expect(stdout).toContain(`--${spec.flag}`)
    expect(stdout).toContain('(default: 8080)')
    expect(stdout).toContain('(default: ./data)')
  })

  it('refuses a bad option with a one-line reason on stderr and exit code 2', async () => {
    const bad = await runRelayCli(['--port', '99999'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe('monsoon-relay: --port 99999: must be 0-65535\n')
    const unknown = await runRelayCli(['--portt', '1'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/^monsoon-relay: .*--portt/)
  })

  it('stops cleanly on SIGTERM', async () => {
    const relay = await startRelay()
    expect((await fetch(`${relay.url}/health`)).status).toBe(200)
    expect(await relay.stop()).toBe(0)
    expect(relay.logs.map((l) => l.msg)).toContain('stopping')
  })

  it('exits 1 with a logged reason when the port is taken', async () => {
    const blocker = createServer().listen(0, '127.0.0.1')
    await once(blocker, 'listening')
    const { port } = blocker.address() as { port: number }
    const dataDir = mkdtempSync(join(tmpdir(), 'monsoon-cli-'))
    try {
      const { code, stdout } = await runRelayCli([
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--data-dir',
        dataDir,
      ])
      expect(code).toBe(1)
      expect(stdout).toContain('"msg":"cannot listen"')
      expect(stdout).toContain('EADDRINUSE')
    } finally {
      blocker.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
