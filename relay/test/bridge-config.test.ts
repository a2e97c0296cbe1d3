import { describe, expect, it } from 'vitest'
import { ConfigError, helpText, parseCommandLine } from '../config.ts'

describe('--bridge options', () => {
  it('are off by default, with limits', () => {
    const { config } = parseCommandLine([], {})
    expect(config).toMatchObject({
      bridge: false,
      bridgeMaxTorrents: 20,
      bridgeMaxDisk: 10 * 1024 ** 3,
      bridgeMaxRate: 0,
      bridgeDht: false,
      bridgeLsd: false,
    })
  })

  it('read flags and the environment', () => {
    const { config } = parseCommandLine(
      ['--bridge', '--bridge-max-disk', '1048576', '--bridge-max-rate', '65536'],
      { MONSOON_BRIDGE_MAX_TORRENTS: '3', MONSOON_BRIDGE_DHT: 'true' },
    )
    expect(config).toMatchObject({
      bridge: true,
      bridgeMaxDisk: 1048576,
      bridgeMaxRate: 65536,
      bridgeMaxTorrents: 3,
      bridgeDht: true,
    })
    expect(helpText()).toContain('--bridge-max-disk N')
  })

  it('refuse impossible limits', () => {
    for (const args of [
      ['--bridge-max-torrents', '0'],
      ['--bridge-max-disk', '-1'],
      ['--bridge-max-rate', '1.5'],
      ['--bridge-port', '70000'],
    ]) {
      expect(() => parseCommandLine(args, {})).toThrow(ConfigError)
    }
  })
})
