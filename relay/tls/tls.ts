// TLS for the relay's one port (ARCHITECTURE.md, "Transport and encryption"): with
// --tls-cert and --tls-key, the app, the tracker, the API, DoH and the WebSocket tracker are
// all served over HTTPS/WSS from the same server. --tls-self-signed makes (once, then reuses)
// a certificate for localhost, the loopback addresses and the --public-url host, kept in
// <data dir>/tls/, for tests and first tries: browsers warn about it, and other relays trust
// it only when told to with --tls-ca.
//
// Everything is read and checked before the relay listens, so a missing file, a key that is
// not the certificate's, or something that is not PEM stops the start with a message naming
// the file, never at the first client's handshake.

import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { createSecureContext } from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { generate } from 'selfsigned'

export interface TlsMaterial {
  cert: string
  key: string
  /** Where it came from, for the log. */
  source: string
}

export interface TlsOptions {
  tlsCert?: string
  tlsKey?: string
  tlsSelfSigned: boolean
  dataDir: string
  publicUrl: string
}

export class TlsConfigError extends Error {
  override name = 'TlsConfigError'
}

/** The certificate and key to serve, or undefined for plain HTTP. Throws TlsConfigError. */
export async function loadTls(options: TlsOptions): Promise<TlsMaterial | undefined> {
  if (options.tlsCert && options.tlsKey) {
    const cert = readPem(options.tlsCert, '--tls-cert', 'CERTIFICATE')
    const key = readPem(options.tlsKey, '--tls-key', 'PRIVATE KEY')
    checkPair(cert, key, `--tls-cert ${options.tlsCert} and --tls-key ${options.tlsKey}`)
    return { cert, key, source: options.tlsCert }
  }
  if (options.tlsSelfSigned) return selfSigned(options.dataDir, options.publicUrl)
  return undefined
}

/** The PEM certificates in `path` (for --tls-ca). Throws TlsConfigError. */
export function readCa(path: string): string {
  return readPem(path, '--tls-ca', 'CERTIFICATE')
}

export const SELF_SIGNED_CERT = join('tls', 'self-signed.crt')
export const SELF_SIGNED_KEY = join('tls', 'self-signed.key')
/** A year: long enough for a test network, short enough not to be a lasting credential. */
const SELF_SIGNED_DAYS = 365

async function selfSigned(dataDir: string, publicUrl: string): Promise<TlsMaterial> {
  const certPath = join(dataDir, SELF_SIGNED_CERT)
  const keyPath = join(dataDir, SELF_SIGNED_KEY)
  const host = new URL(publicUrl).hostname.replace(/^\[|\]$/g, '')
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readPem(certPath, 'self-signed certificate', 'CERTIFICATE')
    const key = readPem(keyPath, 'self-signed key', 'PRIVATE KEY')
    const x509 = new X509Certificate(cert)
    const fresh = Date.parse(x509.validTo) > Date.now() + 86_400_000
    if (fresh && (x509.checkHost(host) || x509.checkIP(host))) {
      checkPair(cert, key, `${certPath} and ${keyPath}`)
      return { cert, key, source: certPath }
    }
  }
  const names = new Set(['localhost', '127.0.0.1', '::1', host])
  const notBeforeDate = new Date(Date.now() - 3600_000)
  const pems = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + SELF_SIGNED_DAYS * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...names].map((name) =>
          isIP(name) ? { type: 7, ip: name } : { type: 2, value: name },
        ),
      },
    ],
  })
  mkdirSync(join(dataDir, 'tls'), { recursive: true, mode: 0o700 })
  writeFileSync(keyPath, pems.private, { mode: 0o600 })
  writeFileSync(certPath, pems.cert)
  return { cert: pems.cert, key: pems.private, source: `${certPath} (self-signed, new)` }
}

/** The PEM text of `path`, checked to hold a `label` block. Throws TlsConfigError. */
export function readPem(path: string, what: string, label: 'CERTIFICATE' | 'PRIVATE KEY'): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new TlsConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`)
  }
  // "PRIVATE KEY" also matches "EC PRIVATE KEY" and "RSA PRIVATE KEY".
  if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(text)) {
    throw new TlsConfigError(`${what} ${path} is not a PEM ${label.toLowerCase()}`)
  }
  return text
}

function checkPair(cert: string, key: string, what: string): void {
  try {
    createSecureContext({ cert, key })
  } catch (err) {
    const reason = (err as Error).message
    if (/mismatch/i.test(reason)) {
      throw new TlsConfigError(`${what} do not match: the key is not the certificate's`)
    }
    throw new TlsConfigError(`${what} are not usable: ${reason}`)
  }
}
