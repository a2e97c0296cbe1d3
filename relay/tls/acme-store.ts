// What ACME (acme.ts) keeps in DATA_DIR/acme/, every file mode 0600 in a 0700 directory:
// account.key (the ACME account's key), certificate.key, certificate.pem (the chain) and
// certificate.json (the directory and names it was issued for, so a certificate from another
// CA or for other names is never served as this one).

import { X509Certificate, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { createSecureContext } from 'node:tls'
import type { TlsMaterial } from './tls.ts'

export class AcmeStore {
  readonly dir: string
  readonly #cert: string
  readonly #key: string
  readonly #meta: string

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'acme')
    this.#cert = join(this.dir, 'certificate.pem')
    this.#key = join(this.dir, 'certificate.key')
    this.#meta = join(this.dir, 'certificate.json')
  }

  /**
   * The stored certificate if it came from `directory`, covers every name in `domains` and
   * has not expired; undefined when there is none. Throws when the files are unusable (not
   * PEM, or a key that is not the certificate's).
   */
  load(directory: string, domains: string[], now = Date.now()): TlsMaterial | undefined {
    if (![this.#cert, this.#key, this.#meta].every((path) => existsSync(path))) return undefined
    const meta = JSON.parse(readFileSync(this.#meta, 'utf8')) as { directory?: unknown }
    if (meta.directory !== directory) return undefined
    const cert = readFileSync(this.#cert, 'utf8')
    const key = readFileSync(this.#key, 'utf8')
    const x509 = new X509Certificate(cert)
    if (Date.parse(x509.validTo) <= now) return undefined
    if (!domains.every((name) => covers(x509, name))) return undefined
    createSecureContext({ cert, key }) // throws when the key is not the certificate's
    return { cert, key, source: `${this.#cert} (acme)` }
  }

  save(cert: string, key: string, directory: string, domains: string[]): TlsMaterial {
    this.#write(this.#key, key)
    this.#write(this.#cert, cert)
    this.#write(this.#meta, JSON.stringify({ directory, domains }, null, 2) + '\n')
    return { cert, key, source: `${this.#cert} (acme)` }
  }

  /** The account key, made with `create` and stored the first time. */
  async accountKey(create: () => Promise<Buffer>): Promise<{ key: Buffer; created: boolean }> {
    const path = join(this.dir, 'account.key')
    if (existsSync(path)) return { key: readFileSync(path), created: false }
    const key = await create()
    this.#write(path, key)
    return { key, created: true }
  }

  /** Written whole under a temporary name, then renamed: never half a key. */
  #write(path: string, data: string | Buffer): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`
    writeFileSync(temporary, data, { mode: 0o600 })
    chmodSync(temporary, 0o600) // exactly 0600, whatever the umask
    renameSync(temporary, path)
  }
}

function covers(x509: X509Certificate, name: string): boolean {
  return isIP(name)
    ? x509.checkIP(name) !== undefined
    : x509.checkHost(name, { wildcards: false, subject: 'never' }) !== undefined
}
