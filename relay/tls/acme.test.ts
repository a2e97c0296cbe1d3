// acme.ts in process: the renewal point, stored material it must refuse, and HTTP-01 against
// pebble over the one port (the relay itself picks HTTP-01 only on port 80, which a test
// cannot take; relay/test/acme.test.ts covers TLS-ALPN-01 with the real relay process).

import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { generate } from 'selfsigned'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../log.ts'
import { removeTempDirs, tempDir } from '../test/catalog-helpers.ts'
import { PEBBLE, PEBBLE_SKIPPED, httpsGet, startPebble } from '../test/pebble.ts'
import { OnePort } from '../transport/one-port.ts'
import { AcmeCertificates, renewalDelay, type AcmeOptions } from './acme.ts'
import type { TlsMaterial } from './tls.ts'

const DAY = 86_400_000
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})
afterAll(() => removeTempDirs())

async function certificate(from: Date, to: Date, ip = '127.0.0.1') {
  const pems = await generate([{ name: 'commonName', value: 'test' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: from,
    notAfterDate: to,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip }] }],
  })
  return { cert: pems.cert, key: pems.private }
}

function logged() {
  const lines: Record<string, unknown>[] = []
  const log = createLogger('debug', (line) =>
    lines.push(JSON.parse(line) as Record<string, unknown>),
  )
  return { lines, log }
}

function certificates(dataDir: string, extra: Partial<AcmeOptions> = {}) {
  const acme = new AcmeCertificates({
    domains: ['127.0.0.1'],
    directory: 'https://127.0.0.1:1/dir',
    email: undefined,
    ca: [],
    dataDir,
    log: logged().log,
    onCertificate: () => {},
    ...extra,
  })
  cleanups.push(async () => acme.close())
  return acme
}

describe('renewalDelay', () => {
  it('is the time until a third of the lifetime is left, never negative', async () => {
    const from = new Date(Math.floor(Date.now() / 1000) * 1000)
    const { cert } = await certificate(from, new Date(from.getTime() + 90 * DAY))
    expect(renewalDelay(cert, from.getTime())).toBe(60 * DAY)
    expect(renewalDelay(cert, from.getTime() + 59 * DAY)).toBe(DAY)
    expect(renewalDelay(cert, from.getTime() + 89 * DAY)).toBe(0)
  })
})

describe('stored certificates', () => {
  async function store(
    dataDir: string,
    material: { cert: string; key: string },
    directory: string,
  ) {
    mkdirSync(join(dataDir, 'acme'), { recursive: true })
    writeFileSync(join(dataDir, 'acme', 'certificate.pem'), material.cert)
    writeFileSync(join(dataDir, 'acme', 'certificate.key'), material.key)
    writeFileSync(join(dataDir, 'acme', 'certificate.json'), JSON.stringify({ directory }))
  }
  const directory = 'https://127.0.0.1:1/dir'

  it('are used only for the same names and directory, unexpired, with their own key', async () => {
    const now = Date.now()
    const good = await certificate(new Date(now - DAY), new Date(now + 60 * DAY))
    const dir = tempDir()
    await store(dir, good, directory)
    expect(certificates(dir).stored()).toMatchObject({ cert: good.cert, key: good.key })
    expect(certificates(dir, { domains: ['127.0.0.2'] }).stored()).toBeUndefined()
    expect(certificates(dir, { domains: ['127.0.0.1', 'relay.example'] }).stored()).toBeUndefined()
    expect(certificates(dir, { directory: 'https://127.0.0.1:2/dir' }).stored()).toBeUndefined()

    const expired = await certificate(new Date(now - 10 * DAY), new Date(now - DAY))
    const old = tempDir()
    await store(old, expired, directory)
    expect(certificates(old).stored()).toBeUndefined()

    const other = await certificate(new Date(now - DAY), new Date(now + 60 * DAY))
    const mixed = tempDir()
    await store(mixed, { cert: good.cert, key: other.key }, directory)
    const { lines, log } = logged()
    expect(certificates(mixed, { log }).stored()).toBeUndefined()
    expect(lines).toMatchObject([{ level: 'warn', msg: 'acme stored certificate unusable' }])

    const junk = tempDir()
    await store(junk, { cert: 'not a certificate', key: 'nor a key' }, directory)
    expect(certificates(junk).stored()).toBeUndefined()
  })
})

describe.skipIf(!PEBBLE)(`HTTP-01 against pebble${PEBBLE_SKIPPED}`, () => {
  it('answers the token on the one port, then serves the certificate it got', async () => {
    const { lines, log } = logged()
    const app = (_req: IncomingMessage, res: ServerResponse) => res.writeHead(404).end('app 404')
    let acme: AcmeCertificates | undefined
    const http = createServer((req, res) => (acme ? acme.http01(app) : app)(req, res))
    const onePort = new OnePort({ http })
    cleanups.push(() => onePort.close())
    const { port } = await onePort.listen(0, '127.0.0.1')
    const pebble = await startPebble(
      { tlsPort: port, httpPort: port, validitySeconds: 3600 },
      cleanups,
    )
    const obtained = new Promise<TlsMaterial>((resolve) => {
      acme = certificates(tempDir(), {
        directory: pebble.directory,
        ca: [pebble.tlsCert],
        email: 'ops@relay.example',
        log,
        challenge: 'http-01',
        onCertificate: (material) => {
          onePort.setTls(material)
          resolve(material)
        },
      })
    })
    acme!.start(port)
    await obtained
    expect(lines.filter((l) => l.msg === 'acme ordering certificate')).toMatchObject([
      { challenge: 'http-01' },
    ])
    // HTTPS on the same port now, verified against pebble's root alone.
    const root = await pebble.root()
    expect(await httpsGet(`https://127.0.0.1:${port}/anything`, root)).toEqual({
      status: 404,
      body: 'app 404',
    })
    // Tokens are withdrawn once validated; a stray one reaches the app.
    const stray = await fetch(`http://127.0.0.1:${port}/.well-known/acme-challenge/nope`)
    expect(await stray.text()).toBe('app 404')
  })
})
