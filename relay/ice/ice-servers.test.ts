import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkTurnUsername, turnPassword } from '../turn/credentials.ts'
import {
  TURN_CREDENTIAL_TTL_SECONDS,
  relayIceConfig,
  type IceServerOptions,
} from './ice-servers.ts'
import { TurnSecretError, loadTurnSecret } from './secret.ts'

const NOW = 1_765_000_000
const base: IceServerOptions = {
  host: 'relay.example',
  tcpPort: 8080,
  udpPort: 8080,
  stun: true,
  turn: true,
  tls: false,
  extra: [],
  secret: 'a-secret-of-thirty-two-characters',
}

describe('relayIceConfig', () => {
  it('names our STUN, and our TURN over UDP and TCP with a credential that checks', () => {
    const config = relayIceConfig(base, NOW)
    expect(config.iceServers[0]).toEqual({ urls: 'stun:relay.example:8080' })
    const turn = config.iceServers[1]
    expect(turn.urls).toEqual([
      'turn:relay.example:8080?transport=udp',
      'turn:relay.example:8080?transport=tcp',
    ])
    expect(turn.credential).toBe(turnPassword(base.secret!, turn.username!))
    expect(config.expires).toBe(NOW + TURN_CREDENTIAL_TTL_SECONDS)
    expect(checkTurnUsername(turn.username!, NOW)).toBe('ok')
    expect(checkTurnUsername(turn.username!, config.expires!)).toBe('expired')
    // Each answer has its own credentials.
    expect(relayIceConfig(base, NOW).iceServers[1].username).not.toBe(turn.username)
  })

  it('sends TCP as TLS only when the relay serves TLS', () => {
    const config = relayIceConfig({ ...base, tls: true, tcpPort: 443, udpPort: 3478 }, NOW)
    expect(config.iceServers.map((s) => s.urls)).toEqual([
      'stun:relay.example:3478',
      ['turn:relay.example:3478?transport=udp', 'turns:relay.example:443?transport=tcp'],
    ])
  })

  it('mints credentials for --ice-server TURN servers (coturn) and never sends one bare', () => {
    const extra = ['stun:stun.example:3478', 'turn:coturn.example:3478']
    const config = relayIceConfig({ ...base, stun: false, turn: false, extra }, NOW)
    expect(config.iceServers[0]).toEqual({ urls: 'stun:stun.example:3478' })
    const coturn = config.iceServers[1]
    expect(coturn.urls).toBe('turn:coturn.example:3478')
    expect(coturn.credential).toBe(turnPassword(base.secret!, coturn.username!))
    const bare = relayIceConfig({ ...base, turn: false, extra, secret: undefined }, NOW)
    expect(bare.iceServers.map((s) => s.urls)).toEqual([
      'stun:relay.example:8080',
      'stun:stun.example:3478',
    ])
    expect(bare.expires).toBeUndefined()
  })

  it('offers nothing when STUN and TURN are off and none is named', () => {
    expect(relayIceConfig({ ...base, stun: false, turn: false }, NOW)).toEqual({ iceServers: [] })
  })
})

describe('loadTurnSecret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-secret-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('makes the secret once, readable by its owner only, and reads it back after', () => {
    const first = loadTurnSecret(dir)
    expect(first.created).toBe(true)
    expect(first.secret).toMatch(/^[0-9a-f]{64}$/)
    expect(statSync(first.path).mode & 0o777).toBe(0o600)
    const again = loadTurnSecret(dir)
    expect(again).toMatchObject({ created: false, secret: first.secret, readableByOthers: false })
  })

  it('takes an operator file (shared with coturn), and refuses a short or odd one', () => {
    const file = join(dir, 'coturn.secret')
    writeFileSync(file, 'shared-with-coturn-0123456789\n', { mode: 0o644 })
    expect(loadTurnSecret(dir, file)).toMatchObject({
      secret: 'shared-with-coturn-0123456789',
      readableByOthers: true,
    })
    writeFileSync(file, 'short\n')
    expect(() => loadTurnSecret(dir, file)).toThrow(TurnSecretError)
    writeFileSync(file, 'two words that are long enough\n')
    expect(() => loadTurnSecret(dir, file)).toThrow(/one line/)
  })
})
