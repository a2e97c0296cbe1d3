// packaging/monsoon-relay.service: the keys an operator relies on (a dynamic user, state in
// /var/lib/monsoon, the hardening, port 443 allowed), flags the relay accepts, and
// `systemd-analyze verify` where systemd is installed.

import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseCommandLine } from '../config.ts'

const UNIT_PATH = fileURLToPath(new URL('../../packaging/monsoon-relay.service', import.meta.url))
const UNIT_TEXT = readFileSync(UNIT_PATH, 'utf8')
const HAS_SYSTEMD_ANALYZE = spawnSync('systemd-analyze', ['--version']).status === 0

/** `section -> key -> values`, in file order (systemd keys may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>()
  let current: Map<string, string[]> | undefined
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#') || line.startsWith(';')) continue
    const header = /^\[(.+)\]$/.exec(line)
    if (header) {
      current = new Map()
      sections.set(header[1], current)
      continue
    }
    const eq = line.indexOf('=')
    if (!current || eq < 1) throw new Error(`not a unit line: ${line}`)
    const key = line.slice(0, eq).trim()
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()])
  }
  return sections
}

const service = parseUnit(UNIT_TEXT).get('Service')!
const value = (key: string) => service.get(key)?.join(' ')

describe('packaging/monsoon-relay.service', () => {
  it('runs the installed bin as a dynamic user with its state in /var/lib/monsoon', () => {
    expect(value('DynamicUser')).toBe('yes')
    expect(value('StateDirectory')).toBe('monsoon')
    expect(value('Restart')).toBe('on-failure')
    const [command, ...argv] = value('ExecStart')!.split(/\s+/)
    expect(command).toBe('monsoon-relay')
    expect(parseCommandLine(argv, {}).config.dataDir).toBe('/var/lib/monsoon')
    expect(parseUnit(UNIT_TEXT).get('Install')?.get('WantedBy')).toEqual(['multi-user.target'])
  })

  it('is hardened, may bind 443 and nothing more, and leaves V8 its JIT', () => {
    const expected: Record<string, string> = {
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes',
      ProtectKernelLogs: 'yes',
      ProtectControlGroups: 'yes',
      CapabilityBoundingSet: 'CAP_NET_BIND_SERVICE',
      AmbientCapabilities: 'CAP_NET_BIND_SERVICE',
      SystemCallFilter: '@system-service',
    }
    for (const [key, want] of Object.entries(expected)) expect(value(key), key).toBe(want)
    expect(value('RestrictAddressFamilies')!.split(/\s+/)).toEqual(
      expect.arrayContaining(['AF_INET', 'AF_INET6']),
    )
    // V8's JIT makes pages it wrote executable, which this forbids.
    expect(service.has('MemoryDenyWriteExecute')).toBe(false)
  })

  it.skipIf(!HAS_SYSTEMD_ANALYZE)('passes systemd-analyze verify', () => {
    // verify refuses an ExecStart it cannot find, and no monsoon-relay is installed here:
    // check a copy that runs a stand-in executable instead.
    const dir = mkdtempSync(join(tmpdir(), 'monsoon-unit-'))
    try {
      const standIn = join(dir, 'monsoon-relay')
      writeFileSync(standIn, '#!/bin/sh\n')
      chmodSync(standIn, 0o755)
      const unit = join(dir, 'monsoon-relay.service')
      writeFileSync(unit, UNIT_TEXT.replace(/^ExecStart=monsoon-relay /m, `ExecStart=${standIn} `))
      const verified = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' })
      expect(verified.stderr).toBe('')
      expect(verified.status).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
