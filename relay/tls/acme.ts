// The relay's own certificate over ACME (RFC 8555), through acme-client: the only module that
// touches it. With --acme-domain the relay starts at once on a stored certificate that is
// still valid for those names, or else on the self-signed one (tls.ts), and orders a
// certificate in the background; it renews when a third of the lifetime is left and swaps
// the certificate in without a restart. A CA that cannot be reached leaves the relay serving
// what it has, with one warn line per failed attempt and a doubling wait before the next.
//
// Challenges are answered on the relay's one port: TLS-ALPN-01 (RFC 8737; RFC 8738 §6 for IP
// addresses) with a certificate handed to one-port.ts by SNI name, or HTTP-01 (RFC 8555 §8.3)
// at /.well-known/acme-challenge/TOKEN when the port is 80, where a CA validates HTTP-01.
// Keys and certificates are kept in DATA_DIR/acme/ (acme-store.ts).

import { X509Certificate } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Agent, get } from 'node:https'
import { isIP } from 'node:net'
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls'
import * as acme from 'acme-client'
import { Backoff } from '../../shared/backoff.ts'
import type { Logger } from '../log.ts'
import type { AlpnChallenges } from '../transport/one-port.ts'
import { AcmeStore } from './acme-store.ts'
import { reverseName } from './reverse-name.ts'
import type { TlsMaterial } from './tls.ts'

/** Renew when this share of the lifetime is left: 30 days of a 90-day certificate, as
 * Let's Encrypt advises, and still a third of a short-lived one. */
const RENEW_WHEN_LEFT = 1 / 3
/** First wait after a failed order; it doubles up to ACME_RETRY_MAX_MS. Let's Encrypt allows
 * 5 failed validations per name an hour: this stays far below. */
const ACME_RETRY_MIN_MS = 2 * 60_000
const ACME_RETRY_MAX_MS = 6 * 3600_000
/** setTimeout's ceiling (2^31 - 1 ms, ~24.8 days); a longer wait is taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1
/** Polling an order or challenge: acme-client's default 5 s floor is longer than a CA takes. */
const POLL = { backoffMin: 1000, backoffMax: 10_000, backoffAttempts: 12 }
/** The directory probe before each order; a CA answers it in well under a second. */
const PROBE_TIMEOUT_MS = 15_000
const HTTP01_PREFIX = '/.well-known/acme-challenge/'

export interface AcmeOptions {
  domains: string[]
  directory: string
  email: string | undefined
  /** PEM CAs trusted for the directory's HTTPS, beside the system's. */
  ca: string[]
  dataDir: string
  log: Logger
  /** Gets each new certificate (to serve from the next handshake on). */
  onCertificate(material: TlsMaterial): void
  /** The challenge to answer; default HTTP-01 when the relay's port is 80 (where CAs validate
   * it), else TLS-ALPN-01 (validated on 443). Tests set it to reach pebble on other ports. */
  challenge?: ChallengeType
}

export type ChallengeType = 'http-01' | 'tls-alpn-01'

/** What server.ts needs: challenge certificates by SNI, and HTTP-01 answers. */
export interface AcmeResponder extends AlpnChallenges {
  http01(
    listener: (req: IncomingMessage, res: ServerResponse) => void,
  ): (req: IncomingMessage, res: ServerResponse) => void
}

export class AcmeCertificates implements AcmeResponder {
  readonly #o: AcmeOptions
  readonly #store: AcmeStore
  readonly #alpn = new Map<string, SecureContext>()
  readonly #tokens = new Map<string, string>()
  readonly #agent: Agent
  #client: acme.Client | undefined
  #timer: NodeJS.Timeout | undefined
  /** Waits between failed orders. */
  readonly #retry = new Backoff({ minMs: ACME_RETRY_MIN_MS, maxMs: ACME_RETRY_MAX_MS })
  #port = 0
  #closed = false
  /** What stored() found, once it has looked. */
  #stored: { material: TlsMaterial | undefined } | undefined

  constructor(options: AcmeOptions) {
    this.#o = options
    this.#store = new AcmeStore(options.dataDir)
    this.#agent = new Agent({
      ca: options.ca.length ? [...rootCertificates, ...options.ca] : undefined,
    })
    // One CA per process: acme-client's requests all go through its one axios instance.
    acme.axios.defaults.httpsAgent = this.#agent
  }

  /** The stored certificate, if it is for these names, from this directory and not expired. */
  stored(): TlsMaterial | undefined {
    if (this.#stored) return this.#stored.material
    let material: TlsMaterial | undefined
    try {
      material = this.#store.load(this.#o.directory, this.#o.domains)
    } catch (err) {
      this.#o.log.warn('acme stored certificate unusable', { error: (err as Error).message })
    }
    this.#stored = { material }
    return material
  }

  /** Renews the stored certificate when due, or orders one now; `port` is the relay's. */
  start(port: number): void {
    this.#port = port
    const current = this.stored()
    if (current) {
      this.#o.log.info('acme certificate loaded', describe(current.cert))
      this.#schedule(renewalDelay(current.cert))
    } else this.#schedule(0)
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
  }

  alpnContext(serverName: string): SecureContext | undefined {
    return this.#alpn.get(serverName.toLowerCase())
  }

  http01(listener: (req: IncomingMessage, res: ServerResponse) => void) {
    return (req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? ''
      const answer = url.startsWith(HTTP01_PREFIX)
        ? this.#tokens.get(url.slice(HTTP01_PREFIX.length))
        : undefined
      if (answer === undefined) return listener(req, res)
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(answer)
    }
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer)
    if (this.#closed) return
    const step = Math.min(delayMs, MAX_TIMER_MS)
    this.#timer = setTimeout(() => {
      if (step < delayMs) this.#schedule(delayMs - step)
      else void this.#renew()
    }, step)
    this.#timer.unref()
  }

  async #renew(): Promise<void> {
    const challenge = this.#o.challenge ?? (this.#port === 80 ? 'http-01' : 'tls-alpn-01')
    this.#o.log.info('acme ordering certificate', {
      domains: this.#o.domains,
      directory: this.#o.directory,
      challenge,
    })
    let material: TlsMaterial
    try {
      material = await this.#order(challenge)
    } catch (err) {
      if (this.#closed) return
      const retryMs = this.#retry.next()
      this.#o.log.warn('acme certificate not obtained; serving the current certificate', {
        directory: this.#o.directory,
        error: (err as Error).message,
        retryInSeconds: Math.round(retryMs / 1000),
      })
      this.#schedule(retryMs)
      return
    }
    if (this.#closed) return
    this.#retry.reset()
    this.#o.log.info('acme certificate obtained', describe(material.cert))
    this.#o.onCertificate(material)
    this.#schedule(renewalDelay(material.cert))
  }

  /** RFC 8555 §7.1: account, order, one challenge per pending authorization, finalize. */
  async #order(challengeType: ChallengeType): Promise<TlsMaterial> {
    await this.#reachable()
    const client = this.#client ?? (await this.#account())
    const order = await client.createOrder({
      identifiers: this.#o.domains.map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value })),
    })
    for (const authz of await client.getAuthorizations(order)) {
      if (authz.status === 'valid') continue // reused from an earlier order (§7.1.4)
      const { value } = authz.identifier
      const challenge = authz.challenges.find((c) => c.type === challengeType)
      if (!challenge) throw new Error(`the CA offers no ${challengeType} challenge for ${value}`)
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge)
      const sni = isIP(value) ? reverseName(value) : value.toLowerCase()
      if (challengeType === 'http-01') this.#tokens.set(challenge.token, keyAuthorization)
      else {
        const challengeKey = await acme.crypto.createPrivateEcdsaKey()
        const [key, cert] = await acme.crypto.createAlpnCertificate(
          authz,
          keyAuthorization,
          challengeKey,
        )
        this.#alpn.set(sni, createSecureContext({ key, cert }))
      }
      try {
        await client.completeChallenge(challenge)
        await client.waitForValidStatus(challenge)
      } finally {
        this.#tokens.delete(challenge.token)
        this.#alpn.delete(sni)
      }
    }
    const [key, csr] = await acme.crypto.createCsr(
      { altNames: [...this.#o.domains] },
      await acme.crypto.createPrivateEcdsaKey(),
    )
    const cert = await client.getCertificate(await client.finalizeOrder(order, csr))
    return this.#store.save(cert, key.toString(), this.#o.directory, this.#o.domains)
  }

  /**
   * Throws a clear error when the directory does not answer. acme-client retries a refused
   * connection for over a minute, then reports it as a TypeError of its own.
   */
  #reachable(): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = get(
        this.#o.directory,
        { agent: this.#agent, timeout: PROBE_TIMEOUT_MS },
        (res) => {
          res.resume()
          if (res.statusCode === 200) resolve()
          else reject(new Error(`the ACME directory answered HTTP ${res.statusCode}`))
        },
      )
      req.on('timeout', () => req.destroy(new Error('the ACME directory did not answer')))
      req.on('error', (err) => reject(new Error(`cannot reach the ACME directory: ${err.message}`)))
    })
  }

  async #accountKey(): Promise<Buffer> {
    const { key, created } = await this.#store.accountKey(() => acme.crypto.createPrivateEcdsaKey())
    if (created) this.#o.log.info('acme account key created', { dir: this.#store.dir })
    return key
  }

  /** RFC 8555 §7.3: the account of our key, created if the CA does not know it yet. */
  async #account(): Promise<acme.Client> {
    const client = new acme.Client({
      directoryUrl: this.#o.directory,
      accountKey: await this.#accountKey(),
      ...POLL,
    })
    try {
      // §7.3.1. A plain newAccount for a known key would go on to an update that some CAs
      // refuse (pebble: "Use POST-as-GET").
      await client.createAccount({ onlyReturnExisting: true })
    } catch {
      await client.createAccount({
        termsOfServiceAgreed: true,
        ...(this.#o.email ? { contact: [`mailto:${this.#o.email}`] } : {}),
      })
      this.#o.log.info('acme account created', { directory: this.#o.directory })
    }
    this.#client = client
    return client
  }
}

/** Milliseconds until a third of the certificate's lifetime is left (0 when already). */
export function renewalDelay(cert: string, now = Date.now()): number {
  const x509 = new X509Certificate(cert)
  const from = Date.parse(x509.validFrom)
  const to = Date.parse(x509.validTo)
  return Math.max(0, to - (to - from) * RENEW_WHEN_LEFT - now)
}

function describe(cert: string): Record<string, unknown> {
  const x509 = new X509Certificate(cert)
  return {
    names: x509.subjectAltName,
    issuer: x509.issuer.replace(/\n/g, ', '),
    notAfter: new Date(x509.validTo).toISOString(),
    renewAt: new Date(Date.now() + renewalDelay(cert)).toISOString(),
  }
}
