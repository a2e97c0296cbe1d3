import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, OPTIONS, helpText, parseCommandLine, resolveConfig } from './config.ts'

const dir = mkdtempSync(join(tmpdir(), 'monsoon-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
function configFile(content: unknown): string {
  const path = join(dir, `relay-${files++}.json`)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

/** The ConfigError message a call fails with (fails the test if it does not fail). */
function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message
  }
  throw new Error('expected a ConfigError')
}

/** A valid non-default value for an option, as a flag or environment variable would carry it. */
function sampleValue(spec: (typeof OPTIONS)[number]): string {
  if (spec.key === 'iceServers') return 'stun:127.0.0.1:3478'
  if (spec.key === 'acmeDomains') return 'relay.example'
  if (spec.key === 'acmeDirectory') return 'https://127.0.0.1:14000/dir'
  if (spec.key === 'turnRelayPorts') return '50000-50999'
  // A switch that is on by default is set to its other value.
  if (spec.type === 'boolean' && spec.default === true) return 'false'
  if (spec.key === 'dnsZones' || spec.key === 'dnsNameServers') return 'monsoon.example'
  if (spec.key === 'publicUrl' || spec.type === 'strings') return 'http://127.0.0.1:1'
  if (spec.key === 'logLevel') return 'debug'
  if (spec.key === 'role') return 'candidate'
  if (spec.key === 'highWatermark') return '0.9'
  if (spec.key === 'lowWatermark') return '0.2'
  if (spec.type === 'number') return '7'
  if (spec.type === 'boolean') return 'true'
  return 'x'
}

describe('relay config', () => {
  it('has a default for every option', () => {
    const { help, config } = parseCommandLine([], {})
    expect(help).toBe(false)
    expect(config).toEqual(resolveConfig({}))
    // The ones the README and `--help` promise.
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      dataDir: './data',
      publicUrl: 'http://localhost:8080',
      logLevel: 'info',
      trustProxy: false,
    })
    for (const spec of OPTIONS) {
      if (spec.key === 'publicUrl') continue
      expect(config[spec.key], spec.flag).toEqual(spec.default)
    }
  })

  it('derives the public URL from the port unless given, without a trailing slash', () => {
    expect(parseCommandLine(['--port', '9000'], {}).config.publicUrl).toBe('http://localhost:9000')
    const given = parseCommandLine(['--public-url', 'https://relay.example:8443/'], {})
    expect(given.config.publicUrl).toBe('https://relay.example:8443')
  })

  it('reads flags, MONSOON_* variables and a config file, flag > env > file > default', () => {
    const file = configFile({ port: 1111, host: '127.0.0.2', logLevel: 'warn', maxPeers: 5 })
    const env = { MONSOON_PORT: '2222', MONSOON_HOST: '127.0.0.3', MONSOON_TRUST_PROXY: 'true' }
    const { config } = parseCommandLine(['--config', file, '--port', '3333'], env)
    expect(config).toMatchObject({
      port: 3333,
      host: '127.0.0.3',
      logLevel: 'warn',
      maxPeers: 5,
      trustProxy: true,
      dataDir: './data',
    })
  })

  it('finds the config file through MONSOON_CONFIG too', () => {
    const file = configFile({ dataDir: '/srv/monsoon', wsAnnounceInterval: 30 })
    const { config } = parseCommandLine([], { MONSOON_CONFIG: file })
    expect(config.dataDir).toBe('/srv/monsoon')
    expect(config.wsAnnounceInterval).toBe(30)
  })

  it('maps every option to its own flag and environment variable', () => {
    const defaults = resolveConfig({})
    for (const spec of OPTIONS) {
      const value = sampleValue(spec)
      const envName = `MONSOON_${spec.flag.toUpperCase().replace(/-/g, '_')}`
      // Options that only make sense with a zone to answer for or look up.
      const zone = ['dnsPort', 'dohEndpoints'].includes(spec.key)
        ? { MONSOON_DNS_ZONE: 'monsoon.example' }
        : // A TLS certificate and its key go together.
          spec.key === 'tlsCert'
          ? { MONSOON_TLS_KEY: 'key.pem' }
          : spec.key === 'tlsKey'
            ? { MONSOON_TLS_CERT: 'cert.pem' }
            : {}
      const fromEnv = parseCommandLine([], { ...zone, [envName]: value }).config[spec.key]
      expect(fromEnv, envName).not.toEqual(defaults[spec.key])
      const argv =
        spec.type !== 'boolean'
          ? [`--${spec.flag}`, value]
          : spec.default === true
            ? [`--no-${spec.flag}`]
            : [`--${spec.flag}`]
      expect(parseCommandLine(argv, zone).config[spec.key], spec.flag).toEqual(fromEnv)
    }
  })

  it('turns STUN and TURN off with --no-stun / --no-turn, and checks what they take', () => {
    const on = parseCommandLine([], {}).config
    expect([on.stun, on.turn, on.turnRelayPorts]).toEqual([true, true, '49152-65535'])
    const off = parseCommandLine(['--no-stun', '--no-turn'], {}).config
    expect([off.stun, off.turn]).toEqual([false, false])
    expect(parseCommandLine([], { MONSOON_TURN: 'false' }).config.turn).toBe(false)
    expect(refusal(() => parseCommandLine(['--turn-relay-ports', '80-90'], {}))).toMatch(
      /must be MIN-MAX/,
    )
    expect(refusal(() => parseCommandLine(['--turn-relay-ports', '6000-5000'], {}))).toMatch(
      /must be MIN-MAX/,
    )
    expect(
      refusal(() => parseCommandLine(['--no-stun', '--no-turn', '--stun-port', '3478'], {})),
    ).toMatch(/--stun-port moves STUN and TURN/)
  })

  it('serves HTTPS under --acme-domain, which gets its own certificate', () => {
    const acme = parseCommandLine(['--acme-domain', 'relay.example', '--port', '443'], {}).config
    expect(acme.publicUrl).toBe('https://localhost:443')
    expect(acme.acmeDomains).toEqual(['relay.example'])
    expect(parseCommandLine(['--acme-domain', '203.0.113.7'], {}).config.acmeDomains).toEqual([
      '203.0.113.7',
    ])
    expect(refusal(() => parseCommandLine(['--acme-domain', 'a b'], {}))).toMatch(
      /neither a DNS name nor an IP address/,
    )
    expect(
      refusal(() => parseCommandLine(['--acme-domain', 'relay.example', '--tls-self-signed'], {})),
    ).toMatch(/--acme-domain gets its own certificate/)
  })

  it('takes --peer repeatedly, comma-separated from env or file, without duplicates', () => {
    const argv = ['--peer', 'http://127.0.0.1:1/', '--peer', 'http://127.0.0.1:2']
    expect(parseCommandLine(argv, {}).config.peers).toEqual([
      'http://127.0.0.1:1',
      'http://127.0.0.1:2',
    ])
    const env = { MONSOON_PEER: 'http://127.0.0.1:1, http://127.0.0.1:1/,http://127.0.0.1:3' }
    expect(parseCommandLine([], env).config.peers).toEqual([
      'http://127.0.0.1:1',
      'http://127.0.0.1:3',
    ])
    const file = configFile({ peers: ['https://relay.example'] })
    expect(parseCommandLine(['--config', file], {}).config.peers).toEqual(['https://relay.example'])
    expect(refusal(() => parseCommandLine(['--peer', 'relay.example'], {}))).toMatch(
      /relay\.example must be http\(s\):\/\/host\[:port\]$/,
    )
  })

  it('refuses unknown flags, stray arguments and unknown file keys', () => {
    expect(refusal(() => parseCommandLine(['--prot', '80'], {}))).toMatch(/--prot.*\n.*--help/s)
    expect(refusal(() => parseCommandLine(['serve'], {}))).toMatch(/serve/)
    const file = configFile({ port: 80, tracker: { interval: 5 } })
    expect(refusal(() => parseCommandLine(['--config', file], {}))).toBe('unknown option "tracker"')
    expect(refusal(() => resolveConfig({ data_dir: 'x' }))).toBe('unknown option "data_dir"')
  })

  it.each([
    [['--port', '70000'], '--port 70000: must be 0-65535'],
    [['--port=-1'], '--port -1: must be 0-65535'],
    [['--port', '80.5'], '--port 80.5: must be 0-65535'],
    [['--port', 'eighty'], '--port eighty: not a number'],
    [['--port', ''], '--port : not a number'],
    [['--log-level', 'loud'], '--log-level loud: must be one of debug, info, warn, error, silent'],
    [['--public-url', 'ftp://relay'], '--public-url ftp://relay: must be http(s)://host[:port]'],
    [
      ['--public-url', 'http://relay/path'],
      '--public-url http://relay/path: must be http(s)://host[:port]',
    ],
    [
      ['--public-url', 'http://user@relay'],
      '--public-url http://user@relay: must be http(s)://host[:port]',
    ],
    [['--max-peers', '0'], '--max-peers 0: must be a positive integer'],
    [['--max-torrents=-5'], '--max-torrents -5: must be a positive integer'],
    [['--max-bandwidth', '0'], '--max-bandwidth 0: must be a positive integer'],
    [['--role', 'boss'], '--role boss: must be one of supernode, candidate'],
    [['--high-watermark', '1.5'], '--high-watermark 1.5: must be a fraction in (0, 1]'],
    [['--low-watermark', '0'], '--low-watermark 0: must be a fraction in (0, 1]'],
    [
      ['--low-watermark', '0.9', '--high-watermark', '0.5'],
      '--low-watermark must be below --high-watermark',
    ],
    [['--min-supernodes', '1'], '--min-supernodes 1: must be an integer >= 2'],
    [['--rotation-interval=-1'], '--rotation-interval -1: must be a whole number >= 0'],
    [['--announce-interval', '1.5'], '--announce-interval 1.5: must be a positive integer'],
    [['--ws-announce-interval', 'soon'], '--ws-announce-interval soon: not a number'],
    [
      ['--ice-server', 'http://127.0.0.1:1'],
      '--ice-server http://127.0.0.1:1: http://127.0.0.1:1 must be stun:host[:port] or turn:host[:port]',
    ],
  ])('refuses %j with a clear message', (argv, message) => {
    expect(refusal(() => parseCommandLine(argv, {}))).toBe(message)
  })

  it('refuses bad values from the environment and the file the same way', () => {
    expect(refusal(() => parseCommandLine([], { MONSOON_TRUST_PROXY: 'yes' }))).toBe(
      '--trust-proxy yes: must be true or false',
    )
    expect(refusal(() => parseCommandLine([], { MONSOON_PORT: '99999' }))).toBe(
      '--port 99999: must be 0-65535',
    )
    const wrongType = configFile({ host: 127001 })
    expect(refusal(() => parseCommandLine(['--config', wrongType], {}))).toBe(
      '--host: must be a string',
    )
  })

  it('refuses a config file that is missing, not JSON, or not an object', () => {
    const missing = join(dir, 'nope.json')
    expect(refusal(() => parseCommandLine(['--config', missing], {}))).toMatch(
      /^cannot read config file .*nope\.json: ENOENT/,
    )
    const notJson = configFile('port = 80')
    expect(refusal(() => parseCommandLine(['--config', notJson], {}))).toMatch(
      /^cannot read config file .*: .*JSON/,
    )
    const list = configFile([1, 2])
    expect(refusal(() => parseCommandLine(['--config', list], {}))).toMatch(
      /must hold a JSON object$/,
    )
  })

  it('--help wins over everything and lists every option with its default', () => {
    const parsed = parseCommandLine(['--port', 'nonsense-ignored', '--help'], {})
    expect(parsed.help).toBe(true)
    const text = helpText()
    const lines = text.split('\n')
    for (const spec of OPTIONS) {
      const line = lines.find((l) => new RegExp(`^\\s+--${spec.flag}(\\s|,|$)`).test(l))
      expect(line, spec.flag).toBeDefined()
      let shown = `default: ${String(spec.default)}`
      if (spec.key === 'publicUrl') shown = 'default: http://localhost:PORT'
      if (spec.key === 'dnsPort') shown = 'default: off'
      if (spec.key === 'stunPort') shown = 'default: the same number as --port'
      if (spec.key === 'turnSecretFile') shown = 'default: DATA_DIR/turn.secret'
      if (spec.key === 'acmeEmail') shown = '(optional)'
      if (spec.default === true) expect(line, spec.flag).toContain(`--no-${spec.flag}`)
      if (spec.key === 'tlsCert' || spec.key === 'tlsKey') shown = 'default: plain HTTP'
      // A list that starts empty has no default to show; the line says it may be repeated.
      if (Array.isArray(spec.default) && spec.default.length === 0) shown = '(repeatable)'
      expect(line, spec.flag).toContain(shown)
    }
    expect(text).toContain('--config FILE')
    expect(text).toContain('MONSOON_')
    expect(parseCommandLine(['-h'], {}).help).toBe(true)
  })
})
