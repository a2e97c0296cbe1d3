// TLS on the relay's one port (--tls-cert/--tls-key, --tls-self-signed): the app, the HTTP
// tracker, the API, DoH and the WebSocket tracker all answer over HTTPS/WSS, verified
// against the relay's certificate (never with verification off); relays reach each other
// over HTTPS only when told to trust the other's certificate (--tls-ca); bad certificate
// files stop the start with a message naming them.

import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import dnsPacket from 'dns-packet'
import { generate } from 'selfsigned'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { Listing } from '../../shared/listing.ts'
import { FastSigner, sampleDraft } from '../catalog/test-support.ts'
import { SELF_SIGNED_CERT } from '../tls/tls.ts'
import { freePort, logsWith, removeTempDirs, tempDir, waitFor } from './catalog-helpers.ts'
import { runRelayCli, startRelay, type RelayProcess } from './relay-process.ts'
import { announcePath, decodeDict, scrapePath } from './tracker-wire.ts'
import { wsAnnounce } from './ws-announce.ts'

const running: RelayProcess[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
})
afterAll(() => removeTempDirs())

async function relay(...args: string[]): Promise<RelayProcess> {
  const r = await startRelay({ args })
  running.push(r)
  return r
}

interface Answer {
  status: number
  body: Buffer
}

/** An HTTPS request verified against `ca` alone (or the system's CAs when omitted). */
function https(url: string, ca?: string, method = 'GET', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = body ? { 'Content-Type': 'application/json' } : {}
    const req = request(url, { method, ca, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

const json = (a: Answer) => JSON.parse(a.body.toString()) as Record<string, unknown>

/** A certificate and key for localhost and 127.0.0.1, written into `dir`. */
async function certificate(dir: string): Promise<{ cert: string; key: string; pem: string }> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  })
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  writeFileSync(cert, pems.cert)
  writeFileSync(key, pems.private)
  return { cert, key, pem: pems.cert }
}

describe('a relay with --tls-self-signed', () => {
  it('serves the app, tracker, API, DoH and the WebSocket tracker over HTTPS and WSS', async () => {
    const r = await relay('--tls-self-signed', '--dns-zone', 'monsoon.test')
    const ca = readFileSync(join(r.dataDir, SELF_SIGNED_CERT), 'utf8')
    const base = `https://localhost:${r.port}`

    const health = json(await https(`${base}/health`, ca))
    expect(health.url).toBe(`https://localhost:${r.port}`)
    const hello = json(await https(`${base}/v1/hello`, ca))
    expect(hello.urls).toEqual([`https://localhost:${r.port}`])
    expect((await https(`${base}/`, ca)).status).toBe(200)

    const infoHash = randomBytes(20)
    const announced = await https(
      `${base}${announcePath({ infoHash, peerId: randomBytes(20), event: 'started' })}`,
      ca,
    )
    expect(decodeDict(announced.body)).toMatchObject({ incomplete: 1 })
    const scraped = decodeDict((await https(`${base}${scrapePath([infoHash])}`, ca)).body)
    expect(Object.keys(scraped.files as object)).toHaveLength(1)

    const query = dnsPacket.encode({
      type: 'query',
      id: 0,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: 'monsoon.test', type: 'SOA' }],
    })
    const doh = await https(`${base}/dns-query?dns=${query.toString('base64url')}`, ca)
    expect(doh.status).toBe(200)
    expect(dnsPacket.decode(doh.body).answers?.[0]).toMatchObject({ type: 'SOA' })

    // The WebTorrent tracker over WSS: an announce is answered with an interval.
    const answer = await wsAnnounce(`wss://localhost:${r.port}`, ca)
    expect(answer).toMatchObject({ action: 'announce' })
    expect(answer.interval).toBeGreaterThan(0)

    // Verification is real: without its certificate the relay is not trusted.
    await expect(https(`${base}/health`)).rejects.toThrow(/self[- ]signed|certificate/i)
  })

  it('keeps its certificate across restarts', async () => {
    const dir = tempDir()
    const first = await relay('--tls-self-signed', '--data-dir', dir)
    const cert = readFileSync(join(dir, SELF_SIGNED_CERT), 'utf8')
    await first.stop()
    running.splice(running.indexOf(first), 1)
    const second = await relay('--tls-self-signed', '--data-dir', dir)
    expect(readFileSync(join(dir, SELF_SIGNED_CERT), 'utf8')).toBe(cert)
    expect(json(await https(`https://127.0.0.1:${second.port}/health`, cert)).ok).toBe(true)
  })
})

describe('relays over HTTPS', () => {
  it('share listings when each trusts the other with --tls-ca, and not without', async () => {
    const [a, b] = [await certificate(tempDir()), await certificate(tempDir())]
    const [pa, pb] = [await freePort(), await freePort()]
    const common = [
      '--local-network',
      '--peer-poll-interval',
      '1',
      '--supernode-poll-interval',
      '1',
    ]
    const [ra, rb] = await Promise.all([
      relay(
        '--port', String(pa), '--public-url', `https://127.0.0.1:${pa}`,
        '--tls-cert', a.cert, '--tls-key', a.key,
        '--peer', `https://127.0.0.1:${pb}`, '--tls-ca', b.cert, ...common,
      ),
      relay(
        '--port', String(pb), '--public-url', `https://127.0.0.1:${pb}`,
        '--tls-cert', b.cert, '--tls-key', b.key,
        '--peer', `https://127.0.0.1:${pa}`, '--tls-ca', a.cert, ...common,
      ),
    ]) // prettier-ignore
    // A third relay peers with A but was not told to trust its certificate.
    const untrusting = await relay('--peer', `https://127.0.0.1:${pa}`, ...common)

    const listing: Listing = new FastSigner().listing(sampleDraft(1, Date.now()), {
      seq: 1,
      ts: Math.floor(Date.now() / 1000),
    })
    const posted = await https(
      `https://127.0.0.1:${pa}/v1/listings`,
      a.pem,
      'POST',
      JSON.stringify(listing),
    )
    expect(posted.status).toBe(200)
    await waitFor('B to hold the listing', async () => {
      const got = await https(`https://127.0.0.1:${pb}/v1/listings/${listing.infoHash}`, b.pem)
      return got.status === 200
    })
    await waitFor('B to know A as a supernode', async () => {
      const { supernodes } = json(await https(`https://127.0.0.1:${pb}/v1/supernodes`, b.pem))
      return (supernodes as unknown[]).length === 2
    })
    await waitFor('the untrusting relay to fail its pulls', async () =>
      logsWith(untrusting.logs, 'catalog pull failed').some((e) =>
        /certificate|self[- ]signed/i.test(String(e.error)),
      ),
    )
    const none = await fetch(`${untrusting.url}/v1/listings/${listing.infoHash}`)
    expect(none.status).toBe(404)
    expect(ra.running() && rb.running()).toBe(true)
  })
})

describe('bad TLS setups', () => {
  it('stop the start with a message naming the files', async () => {
    const [a, b] = [await certificate(tempDir()), await certificate(tempDir())]
    const junk = join(tempDir(), 'junk.pem')
    writeFileSync(junk, 'not a certificate')
    const run = (...args: string[]) => runRelayCli(['--data-dir', tempDir(), ...args])

    const missing = await run('--tls-cert', '/nonexistent/cert.pem', '--tls-key', a.key)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/cannot read --tls-cert \/nonexistent\/cert\.pem/)
    const mismatched = await run('--tls-cert', a.cert, '--tls-key', b.key)
    expect(mismatched.code).toBe(1)
    expect(mismatched.stderr).toMatch(/do not match: the key is not the certificate's/)
    const notPem = await run('--tls-cert', junk, '--tls-key', a.key)
    expect(notPem.stderr).toMatch(/is not a PEM certificate/)
    const alone = await run('--tls-cert', a.cert)
    expect(alone.code).toBe(2)
    expect(alone.stderr).toMatch(/--tls-cert and --tls-key go together/)
    const badCa = await run('--tls-ca', junk, '--port', '0')
    expect(badCa.code).toBe(1)
    expect(badCa.stderr).toMatch(/--tls-ca .* is not a PEM certificate/)
  })
})
