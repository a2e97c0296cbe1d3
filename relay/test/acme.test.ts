// ACME (RFC 8555) against Debian's pebble, a test CA we did not write: the real relay process
// gets a certificate for 127.0.0.1 over TLS-ALPN-01 answered on its own one port, serves the
// app and WSS under it (verified against pebble's root alone), renews it before it expires
// (pebble issues 20-second certificates here, so "a third of the lifetime left" comes fast),
// keeps it across restarts, and stays up on its self-signed certificate when the CA is down.

import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { SELF_SIGNED_CERT } from '../tls/tls.ts'
import { freePort, logsWith, removeTempDirs, tempDir, waitFor } from './catalog-helpers.ts'
import { PEBBLE, PEBBLE_SKIPPED, httpsGet, startPebble, type Pebble } from './pebble.ts'
import { runRelayCli, startRelay, type RelayProcess } from './relay-process.ts'
import { wsAnnounce } from './ws-announce.ts'

if (!PEBBLE) console.warn(`relay/test/acme.test.ts${PEBBLE_SKIPPED}`)

const OBTAINED = 'acme certificate obtained'
const CA_DOWN = 'acme certificate not obtained; serving the current certificate'

const stops: (() => Promise<unknown>)[] = []
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()))
})
afterAll(() => removeTempDirs())

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({ args })
  stops.push(() => r.stop())
  return r
}

/** The serial and issuer of the certificate the relay presents to a new connection. */
function presented(port: number): Promise<{ serial: string; issuer: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate()!
      socket.destroy()
      resolve({ serial: cert.serialNumber, issuer: cert.issuer })
    })
    socket.on('error', reject)
  })
}

const acmeArgs = (port: number, pebble: Pebble, dataDir = tempDir()) => [
  '--port',
  String(port),
  '--data-dir',
  dataDir,
  '--acme-domain',
  '127.0.0.1',
  '--acme-directory',
  pebble.directory,
  '--acme-ca',
  pebble.tlsCertPath,
]

describe.skipIf(!PEBBLE)(`a relay with --acme-domain, against pebble${PEBBLE_SKIPPED}`, () => {
  it('gets a certificate over TLS-ALPN-01 on its port, serves HTTPS and WSS with it, renews it', async () => {
    const port = await freePort()
    const pebble = await startPebble(
      { tlsPort: port, httpPort: await freePort(), validitySeconds: 20 },
      stops,
    )
    const dataDir = tempDir()
    const r = await relay(...acmeArgs(port, pebble, dataDir))
    await waitFor('a certificate from pebble', async () => logsWith(r.logs, OBTAINED).length >= 1)

    // Verified against pebble's root alone: the self-signed certificate would fail here.
    const root = await pebble.root()
    const health = await httpsGet(`https://127.0.0.1:${port}/health`, root)
    expect(health.status).toBe(200)
    expect(JSON.parse(health.body)).toMatchObject({ ok: true })
    expect((await httpsGet(`https://127.0.0.1:${port}/`, root)).status).toBe(200)
    const answer = await wsAnnounce(`wss://127.0.0.1:${port}`, root)
    expect(answer).toMatchObject({ action: 'announce' })
    expect(answer.interval).toBeGreaterThan(0)
    const first = await presented(port)
    expect(first.issuer).toMatch(/Pebble Intermediate CA/)

    for (const file of ['account.key', 'certificate.key']) {
      expect(statSync(join(dataDir, 'acme', file)).mode & 0o777).toBe(0o600)
    }

    // Renewed once a third of the 20 s lifetime is left, and swapped in without a restart.
    await waitFor('a renewed certificate', async () => logsWith(r.logs, OBTAINED).length >= 2)
    const renewed = await waitFor('the renewed certificate to be served', async () => {
      const now = await presented(port)
      return now.serial !== first.serial && now
    })
    expect(renewed.issuer).toMatch(/Pebble Intermediate CA/)
    expect((await httpsGet(`https://127.0.0.1:${port}/health`, root)).status).toBe(200)
    expect(r.running()).toBe(true)
  })

  it('keeps its certificate across a restart, even with the CA down by then', async () => {
    const port = await freePort()
    const pebble = await startPebble(
      { tlsPort: port, httpPort: await freePort(), validitySeconds: 3600 },
      stops,
    )
    const dataDir = tempDir()
    const first = await relay(...acmeArgs(port, pebble, dataDir))
    await waitFor('a certificate from pebble', async () => logsWith(first.logs, OBTAINED).length)
    const root = await pebble.root()
    const issued = await presented(port)
    await first.stop()
    await pebble.stop()

    const second = await relay(...acmeArgs(port, pebble, dataDir))
    await waitFor(
      'the stored certificate',
      async () => logsWith(second.logs, 'acme certificate loaded').length,
    )
    expect(await presented(port)).toEqual(issued)
    expect((await httpsGet(`https://127.0.0.1:${port}/health`, root)).status).toBe(200)
    expect(logsWith(second.logs, 'acme ordering certificate')).toHaveLength(0)
  })

  it('starts on its self-signed certificate when the CA is down, with one warn line', async () => {
    const down = await freePort() // nothing listens there
    const r = await relay(
      '--acme-domain',
      '127.0.0.1',
      '--acme-directory',
      `https://127.0.0.1:${down}/dir`,
    )
    const [warning] = await waitFor('the warn line', async () => {
      const lines = logsWith(r.logs, CA_DOWN)
      return lines.length > 0 && lines
    })
    expect(warning).toMatchObject({ level: 'warn', directory: `https://127.0.0.1:${down}/dir` })
    expect(warning.error).toMatch(/ECONNREFUSED/)
    expect(warning.retryInSeconds).toBeGreaterThan(0)
    const selfSigned = readFileSync(join(r.dataDir, SELF_SIGNED_CERT), 'utf8')
    const health = await httpsGet(`https://127.0.0.1:${r.port}/health`, selfSigned)
    expect(health.status).toBe(200)
    expect(logsWith(r.logs, CA_DOWN)).toHaveLength(1)
    expect(r.running()).toBe(true)
  })
})

describe('bad ACME setups', () => {
  it('stop the start with a message naming the file', async () => {
    const run = (...args: string[]) =>
      runRelayCli(['--data-dir', tempDir(), '--acme-domain', '127.0.0.1', ...args])
    const missing = await run('--acme-ca', '/nonexistent/pebble.pem')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/cannot read --acme-ca \/nonexistent\/pebble\.pem/)
    const notPem = join(tempDir(), 'junk.pem')
    writeFileSync(notPem, 'not a certificate')
    expect((await run('--acme-ca', notPem)).stderr).toMatch(/--acme-ca .* is not a PEM certificate/)
  })
})
