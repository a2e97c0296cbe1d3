// How this relay's requests to other relays travel (catalog pulls and pushes, supernode
// exchange, promotions, handoffs, bootstrap, owners' scrape counts: server.ts hands this
// PeerTransport to each):
// - https: direct, verified against the system's CAs plus any --tls-ca (a self-signed test
//   network names its certificates there; verification is never turned off);
// - http: sealed through the peer's POST /v1/sealed (shared/sealed/), under the pair key of
//   this relay's node key and the peer's. The peer's id is what its origin itself answers at
//   GET /health (trust on first use, never a record anyone could sign with that URL in it);
//   a peer that says 421 (another key now) is asked again, once.
// A server that gives no node id at /health is not a Monsoon relay (a bootstrap list's web
// server, a stub in a test): it is asked in clear. Once an origin has given an id, its
// requests are never sent in clear again, whatever it answers later. Sealing over plain HTTP
// is against observers on the wire; against an active attacker there is TLS.

import { Agent, request as httpsRequest } from 'node:https'
import { rootCertificates } from 'node:tls'
import { BoundedMap } from '../../shared/bounded-map.ts'
import type { NodeIdentity } from '../../shared/identity.ts'
import { SealedError, nodeSession, type SealedSession } from '../../shared/sealed/envelope.ts'
import { sealedFetch } from '../../shared/sealed/client.ts'
import {
  PeerError,
  PeerUnreachableError,
  fetchPeerJsonDirect,
  parsePeerJson,
  type PeerRequest,
  type PeerTransport,
} from '../peering/peer-fetch.ts'
import { MAX_HEALTH_ANSWER_BYTES, MAX_SEALED_PEER_IDS } from '../limits.ts'
import { relayAead } from './native-crypto.ts'

const HEX64 = /^[0-9a-f]{64}$/

export interface SealedTransportOptions {
  identity: NodeIdentity
  /** Seal requests to plain-HTTP relays (false only for debugging: --unsealed). */
  seal: boolean
  /** Extra CA certificates (PEM) trusted for HTTPS relays, beside the system's. */
  ca?: string[]
}

export class SealedTransport implements PeerTransport {
  readonly stats = { sealed: 0, direct: 0, refused: 0 }
  readonly #options: SealedTransportOptions
  /** Node ids by origin. */
  readonly #ids = new BoundedMap<string, string>({ maxSize: MAX_SEALED_PEER_IDS, order: 'lru' })
  /** Pair keys by peer id: a peer in use keeps its key, however many others come and go. */
  readonly #sessions = new BoundedMap<string, SealedSession>({
    maxSize: MAX_SEALED_PEER_IDS,
    order: 'lru',
  })
  /** The HTTPS agent for --tls-ca (the announce proxy uses it too). */
  readonly httpsAgent: Agent | undefined

  constructor(options: SealedTransportOptions) {
    this.#options = options
    this.httpsAgent = options.ca?.length
      ? new Agent({ keepAlive: true, maxSockets: 64, ca: [...rootCertificates, ...options.ca] })
      : undefined
  }

  async fetchJson(url: string, req: PeerRequest): Promise<unknown> {
    const { origin, protocol, pathname, search } = new URL(url)
    if (protocol === 'https:' && this.httpsAgent) {
      this.stats.direct++
      return httpsFetchJson(url, req, this.httpsAgent)
    }
    if (protocol !== 'http:' || !this.#options.seal) {
      this.stats.direct++
      return fetchPeerJsonDirect(url, req)
    }
    const path = pathname + search
    const id = await this.#idOf(origin, req)
    if (id === undefined) {
      this.stats.direct++
      return fetchPeerJsonDirect(url, req)
    }
    try {
      return await this.#sealed(origin, id, path, req)
    } catch (err) {
      if (!(err instanceof SealedError) || err.code !== 'wrong-receiver') throw wrap(url, err)
      this.#ids.delete(origin)
      try {
        const again = await this.#idOf(origin, req)
        if (again === undefined) throw new PeerError(`${origin} no longer gives a node id`)
        return await this.#sealed(origin, again, path, req)
      } catch (again) {
        throw wrap(url, again)
      }
    }
  }

  close(): void {
    this.httpsAgent?.destroy()
  }

  async #sealed(origin: string, id: string, path: string, req: PeerRequest): Promise<unknown> {
    const session = this.#session(id)
    const timeout = AbortSignal.timeout(req.timeoutMs)
    const answer = await sealedFetch(
      origin,
      session,
      {
        method: req.method ?? 'GET',
        path,
        contentType: req.body === undefined ? undefined : 'application/json',
        body: req.body === undefined ? new Uint8Array(0) : Buffer.from(req.body),
      },
      {
        maxBytes: req.maxBytes,
        signal: req.signal ? AbortSignal.any([req.signal, timeout]) : timeout,
        aead: relayAead,
      },
    )
    this.stats.sealed++
    if (answer.body.length > req.maxBytes) {
      throw new PeerError(`answer is over ${req.maxBytes} bytes`)
    }
    if (answer.status < 200 || answer.status > 299) {
      const retryAfter = Number(answer.retryAfter) || undefined
      throw new PeerError(`HTTP ${answer.status} from ${origin}${path}`, answer.status, retryAfter)
    }
    if (req.parseBytes) return req.parseBytes(answer.body, `${origin}${path}`)
    const parse = req.parse ?? parsePeerJson
    return parse(Buffer.from(answer.body).toString('utf8'), `${origin}${path}`)
  }

  /** The node id the relay at `origin` answers with at GET /health; undefined when it gives
   * none (not a Monsoon relay) and has never given one. */
  async #idOf(origin: string, req: PeerRequest): Promise<string | undefined> {
    const known = this.#ids.get(origin)
    if (known) return known
    let health: { id?: unknown } | null
    try {
      health = (await fetchPeerJsonDirect(`${origin}/health`, {
        timeoutMs: req.timeoutMs,
        maxBytes: MAX_HEALTH_ANSWER_BYTES,
        signal: req.signal,
      })) as { id?: unknown } | null
    } catch (err) {
      // It answered, but not as a relay does (404, too long, not JSON): not one of ours.
      if (err instanceof PeerError && !(err instanceof PeerUnreachableError)) return undefined
      throw err
    }
    const id = health?.id
    if (typeof id !== 'string' || !HEX64.test(id)) return undefined
    this.#ids.set(origin, id)
    return id
  }

  #session(peerId: string): SealedSession {
    let session = this.#sessions.get(peerId)
    if (!session) {
      const { identity } = this.#options
      session = nodeSession(identity.secretKey, identity.id, peerId)
      this.#sessions.set(peerId, session)
    }
    return session
  }
}

function wrap(url: string, err: unknown): unknown {
  if (!(err instanceof SealedError)) return err
  return new PeerError(`${url} (sealed): ${err.message} [${err.code}]`, err.status)
}

/** fetchPeerJsonDirect over node:https with `agent` (its CAs), same caps and errors. */
function httpsFetchJson(url: string, req: PeerRequest, agent: Agent): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const r = httpsRequest(
      url,
      {
        method: req.method ?? 'GET',
        agent,
        headers: req.body === undefined ? {} : { 'Content-Type': 'application/json' },
        signal: req.signal,
        timeout: req.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > req.maxBytes) {
            r.destroy(new PeerError(`answer is over ${req.maxBytes} bytes`))
            return
          }
          chunks.push(chunk)
        })
        res.on('end', () => {
          const status = res.statusCode ?? 0
          if (status < 200 || status > 299) {
            const retryAfter = Number(res.headers['retry-after']) || undefined
            reject(new PeerError(`HTTP ${status} from ${url}`, status, retryAfter))
            return
          }
          try {
            resolve((req.parse ?? parsePeerJson)(Buffer.concat(chunks).toString('utf8'), url))
          } catch (err) {
            reject(err)
          }
        })
        res.on('error', reject)
      },
    )
    r.on('timeout', () => r.destroy(new PeerError(`no answer from ${url} in time`)))
    r.on('error', reject)
    r.end(req.body)
  })
}
