// Debian's pebble (a test ACME CA, RFC 8555) on loopback for the ACME tests: its own HTTPS
// certificate made here, free ports, PEBBLE_VA_NOSLEEP=1, and short-lived certificates when
// asked (pebble 2.4's certificateValidityPeriod, in seconds).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { generate } from 'selfsigned'
import { freePort, tempDir, waitFor } from './catalog-helpers.ts'

/** True when the pebble binary runs here. */
export const PEBBLE = spawnSync('pebble', ['-h']).error === undefined
/** Appended to the names of tests that need it, so a skip says why. */
export const PEBBLE_SKIPPED = PEBBLE
  ? ''
  : ' (SKIPPED: pebble is not installed; apt-get install pebble)'

export interface Pebble {
  directory: string
  /** Path of pebble's own HTTPS certificate (for --acme-ca). */
  tlsCertPath: string
  /** Its PEM. */
  tlsCert: string
  /** PEM of the root that signs what pebble issues (management /roots/0). */
  root(): Promise<string>
  stop(): Promise<void>
}

export interface PebblePorts {
  /** Where it validates TLS-ALPN-01 (the relay's port). */
  tlsPort: number
  /** Where it validates HTTP-01. */
  httpPort: number
  validitySeconds: number
}

/** Starts pebble; `stops` gets its stop function for the test's afterEach. */
export async function startPebble(
  ports: PebblePorts,
  stops: (() => Promise<unknown>)[],
): Promise<Pebble> {
  const dir = tempDir()
  const pems = await generate([{ name: 'commonName', value: 'pebble' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  })
  const tlsCertPath = join(dir, 'cert.pem')
  writeFileSync(tlsCertPath, pems.cert)
  writeFileSync(join(dir, 'key.pem'), pems.private)
  const [listen, management] = [await freePort(), await freePort()]
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${listen}`,
      managementListenAddress: `127.0.0.1:${management}`,
      certificate: tlsCertPath,
      privateKey: join(dir, 'key.pem'),
      httpPort: ports.httpPort,
      tlsPort: ports.tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      certificateValidityPeriod: ports.validitySeconds,
    },
  }
  writeFileSync(join(dir, 'pebble.json'), JSON.stringify(config))
  const child: ChildProcess = spawn('pebble', ['-config', join(dir, 'pebble.json')], {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c))
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM')
    await exited
  }
  stops.push(stop)
  const directory = `https://127.0.0.1:${listen}/dir`
  await waitFor('pebble to listen', async () => {
    if (child.exitCode !== null) throw new Error(`pebble exited: ${output}`)
    return (await httpsGet(directory, pems.cert)).status === 200
  })
  return {
    directory,
    tlsCertPath,
    tlsCert: pems.cert,
    root: async () => (await httpsGet(`https://127.0.0.1:${management}/roots/0`, pems.cert)).body,
    stop,
  }
}

/** A GET verified against `ca` alone. */
export function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}
