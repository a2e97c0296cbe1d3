// Classic clients notice nothing (ARCHITECTURE.md, "Supernodes, lookups and load"): a
// BitTorrent client announces to whichever relay its .torrent names, and that relay may not
// own the hash. It then proxies the announce to the hash's first owner (the next one if that
// fails) and hands the owner's answer back byte for byte; if no owner answers, it answers
// itself rather than fail the client.
//
// Replication (R = 2): the relay that first takes a client's announce also copies it to the
// hash's other owner(s), without waiting, so both owners hold the same peers and either can
// answer alone when the other dies (failover) or leaves.
//
// A proxied or copied announce carries the client's address in a signed 'announce' message
// (node-message.ts) in the X-Monsoon-Announce header: {ip, target: sha256(request target)}.
// The owner takes the address from it only when the signature is good and the sender is a
// supernode it knows; it never forwards such a request again, so there are no loops. No
// nonce is kept: a replay within the message window repeats an announce its peer made.
//
// Scrapes of hashes owned elsewhere are answered from the owners' GET /v1/lookup counts.

import { createHash } from 'node:crypto'
import { Agent, request } from 'node:http'
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https'
import type { SignatureVerifier } from '../../shared/identity.ts'
import type { SupernodeRecord } from '../../shared/supernode.ts'
import { MAX_PROXY_ANSWER_BYTES, MAX_REPLICAS_IN_FLIGHT, PROXY_TIMEOUT_MS } from '../limits.ts'
import type { Logger } from '../log.ts'
import type { OpenSslSigner } from '../openssl-signer.ts'
import type { ScrapeEntry } from '../tracker/tracker.ts'
import type { SupernodeDirectory } from './directory.ts'
import { NodeMessageError, signNodeMessage, verifyNodeMessage } from './node-message.ts'
import type { HashPlacement } from './placement.ts'

/** The header carrying a proxied announce's signed message (lower case, as Node keys it). */
export const PROXY_HEADER = 'x-monsoon-announce'

export interface AnnounceProxyDeps {
  directory: SupernodeDirectory
  signer: OpenSslSigner
  verify: SignatureVerifier
  log: Logger
  /** The host cache's check on a learned URL. */
  mayContact?: (url: string) => boolean
  timeoutMs?: number
}

export class AnnounceProxy {
  readonly stats = { proxied: 0, proxyFailures: 0, fallbacks: 0, replicas: 0, replicasDropped: 0 }
  readonly #deps: AnnounceProxyDeps
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 })
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64 })
  #inFlight = 0

  constructor(deps: AnnounceProxyDeps) {
    this.#deps = deps
  }

  /**
   * The client address a proxied announce vouches for, from its X-Monsoon-Announce header;
   * throws NodeMessageError when the message is not a fresh one signed by a supernode this
   * relay knows, for exactly this request target.
   */
  forwardedIp(header: string, target: string, nowSeconds: number): string {
    let value: unknown
    try {
      value = JSON.parse(header)
    } catch {
      throw new NodeMessageError('malformed', `${PROXY_HEADER} is not JSON`)
    }
    const { directory, verify } = this.#deps
    const { message, payload } = verifyNodeMessage(value, {
      self: directory.selfId,
      typ: 'announce',
      nowSeconds,
      verify,
    })
    if (!directory.get(message.from, nowSeconds)) {
      throw new NodeMessageError('unknown-sender', 'proxied by a relay this one does not know')
    }
    const { ip, target: digest } = (payload ?? {}) as { ip?: unknown; target?: unknown }
    if (typeof ip !== 'string' || ip.length > 45) {
      throw new NodeMessageError('malformed', 'proxied announce names no client address')
    }
    if (digest !== sha256(target)) {
      throw new NodeMessageError('malformed', 'proxied announce was signed for another request')
    }
    return ip
  }

  /**
   * Answers an announce whose hash has other owners besides (or instead of) this relay:
   * `local` answers it here. Never rejects.
   */
  async announce(
    target: string,
    ip: string,
    placement: HashPlacement,
    local: () => Uint8Array,
  ): Promise<Uint8Array> {
    const self = this.#deps.directory.selfId
    const others = placement.owners.filter((r) => r.id !== self)
    if (placement.local) {
      const body = local()
      for (const owner of others) this.#replicate(owner, target, ip)
      return body
    }
    for (let i = 0; i < others.length; i++) {
      try {
        const body = await this.#forward(others[i], target, ip)
        this.stats.proxied++
        for (const rest of others.slice(i + 1)) this.#replicate(rest, target, ip)
        return body
      } catch (err) {
        this.stats.proxyFailures++
        this.#deps.log.debug('proxied announce failed', { to: others[i].id, error: String(err) })
      }
    }
    this.stats.fallbacks++
    return local()
  }

  /** Scrape counts for hashes owned elsewhere, from their owners' GET /v1/lookup (the next
   * owner when one fails); `local` counts a hash no owner answered for. Never rejects. */
  async scrape(
    hashes: { infoHash: string; placement: HashPlacement }[],
    local: (infoHash: string) => ScrapeEntry,
  ): Promise<ScrapeEntry[]> {
    const self = this.#deps.directory.selfId
    return Promise.all(
      hashes.map(async ({ infoHash, placement }) => {
        if (placement.local) return local(infoHash)
        for (const owner of placement.owners.filter((r) => r.id !== self)) {
          try {
            const text = await this.#get(owner, `/v1/lookup/${infoHash}`)
            const answer = JSON.parse(text.toString()) as {
              owner?: boolean
              swarm?: { seeds?: unknown; leechers?: unknown; downloads?: unknown }
            }
            const s = answer.swarm
            if (answer.owner !== true || !s) continue
            return {
              infoHash,
              complete: count(s.seeds),
              incomplete: count(s.leechers),
              downloaded: count(s.downloads),
            }
          } catch {
            continue
          }
        }
        return local(infoHash)
      }),
    )
  }

  close(): void {
    this.#agent.destroy()
    this.#httpsAgent.destroy()
  }

  /** Copies an announce to another owner without waiting for it, bounded. */
  #replicate(owner: SupernodeRecord, target: string, ip: string): void {
    if (this.#inFlight >= MAX_REPLICAS_IN_FLIGHT) {
      this.stats.replicasDropped++
      return
    }
    this.#inFlight++
    this.#forward(owner, target, ip)
      .then(() => this.stats.replicas++)
      .catch((err: unknown) => {
        this.stats.replicasDropped++
        this.#deps.log.debug('announce copy failed', { to: owner.id, error: String(err) })
      })
      .finally(() => this.#inFlight--)
  }

  #forward(owner: SupernodeRecord, target: string, ip: string): Promise<Buffer> {
    const message = signNodeMessage(this.#deps.signer, 'announce', owner.id, {
      ip,
      target: sha256(target),
    })
    return this.#get(owner, target, { [PROXY_HEADER]: JSON.stringify(message) })
  }

  /** GET `path` from a relay's first URL, with a timeout and a byte cap. */
  #get(owner: SupernodeRecord, path: string, headers: Record<string, string> = {}) {
    const origin = owner.urls[0]
    if (!origin || !(this.#deps.mayContact?.(origin) ?? true)) {
      return Promise.reject(new Error(`${owner.id} has no URL this relay may contact`))
    }
    const url = new URL(path, origin)
    const https = url.protocol === 'https:'
    return new Promise<Buffer>((resolve, reject) => {
      const req = (https ? httpsRequest : request)(
        url,
        {
          agent: https ? this.#httpsAgent : this.#agent,
          headers,
          timeout: this.#deps.timeoutMs ?? PROXY_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (chunk: Buffer) => {
            size += chunk.length
            if (size > MAX_PROXY_ANSWER_BYTES) {
              req.destroy(new Error(`answer over ${MAX_PROXY_ANSWER_BYTES} bytes`))
              return
            }
            chunks.push(chunk)
          })
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode} from ${origin}`))
            else resolve(Buffer.concat(chunks))
          })
          res.on('error', reject)
        },
      )
      req.on('timeout', () => req.destroy(new Error(`no answer from ${origin} in time`)))
      req.on('error', reject)
      req.end()
    })
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

function count(n: unknown): number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : 0
}
