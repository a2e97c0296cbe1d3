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
// A proxied or copied announce carries the client's address in the X-Monsoon-Announce
// header, `<from id> <unix seconds> <client ip> <mac>`, where the MAC is HMAC-SHA256 under
// the pair key of sender and owner (shared/pair-key.ts) over both ids, the time, the address
// and the request target. The owner takes the address only when the MAC is good, the time
// within MESSAGE_WINDOW_SECONDS and the sender a relay it knows; it never forwards such a
// request again, so there are no loops. Why a MAC and not a signed message (node-message.ts):
// this is per announce, and an Ed25519 signature plus its strict verification cost ~150 µs of
// CPU where the HMAC costs ~3 µs (bench/tracker-http, ours_proxied). No nonce is kept: a
// replay within the window repeats an announce its peer made.
//
// Scrapes of hashes owned elsewhere are answered from the owners' own counts, one batched
// GET /v1/stats?owned=1 per owner, coalesced, cached and capped (owner-scrapes.ts), asked
// through the relay's PeerTransport: sealed when the owner is on plain HTTP (relay/sealed/).
//
// Announces go to a plain-HTTP owner over a few kept, pipelined connections (proxy-client.ts,
// answers read by proxy-response.ts), to an HTTPS owner through node's client and the
// transport's agent (--tls-ca): the rare case, kept simple. Copies ride the same connections,
// written with the proxied announces of the same tick in one write.
//
// Proxied announces themselves are not sealed: they are tracker traffic that the classic
// client already sent in clear to the first relay, and they keep the tracker's hot path (one
// HMAC, no tunnel dispatch). An observer between two relays learns from them what one on the
// client's own path learns anyway.

import { createHmac, timingSafeEqual } from 'node:crypto'
import { Agent, request } from 'node:http'
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https'
import { BoundedMap } from '../../shared/bounded-map.ts'
import { pairKey } from '../../shared/pair-key.ts'
import type { PeerTransport } from '../peering/peer-fetch.ts'
import type { SupernodeRecord } from '../../shared/supernode.ts'
import {
  MAX_KNOWN_SUPERNODES,
  MAX_PROXY_ANSWER_BYTES,
  MAX_REPLICAS_IN_FLIGHT,
  MESSAGE_WINDOW_SECONDS,
  PROXY_TIMEOUT_MS,
} from '../limits.ts'
import type { Logger } from '../log.ts'
import type { OpenSslSigner } from '../openssl-signer.ts'
import type { ScrapeEntry } from '../tracker/tracker.ts'
import type { SupernodeDirectory } from './directory.ts'
import { NodeMessageError } from './node-message.ts'
import { OwnerScrapes, type OwnedHash, type ScrapeAsk } from './owner-scrapes.ts'
import type { HashPlacement } from './placement.ts'
import { ProxyClient, isSendableTarget } from './proxy-client.ts'

/** The header carrying a proxied announce's signed message (lower case, as Node keys it). */
export const PROXY_HEADER = 'x-monsoon-announce'

export interface AnnounceProxyDeps {
  directory: SupernodeDirectory
  signer: OpenSslSigner
  log: Logger
  /** Asks owners for figures; its HTTPS agent (--tls-ca) carries proxied announces too. */
  transport: PeerTransport
  /** The host cache's check on a learned URL. */
  mayContact?: (url: string) => boolean
  timeoutMs?: number
}

export class AnnounceProxy {
  readonly stats = { proxied: 0, proxyFailures: 0, fallbacks: 0, replicas: 0, replicasDropped: 0 }
  /** Figures asked of other owners (GET /v1/stats, scrapes). */
  readonly ownerScrapes: OwnerScrapes
  readonly #deps: AnnounceProxyDeps
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 64 })
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64 })
  /** Plain-HTTP owners: kept, pipelined connections (proxy-client.ts). */
  readonly #client: ProxyClient
  readonly #origins = new BoundedMap<string, URL>({ maxSize: MAX_KNOWN_SUPERNODES, order: 'lru' })
  #inFlight = 0
  /** Pair keys by peer node id, least recently used dropped first. */
  readonly #keys = new BoundedMap<string, Buffer>({ maxSize: MAX_KNOWN_SUPERNODES, order: 'lru' })

  constructor(deps: AnnounceProxyDeps) {
    this.#deps = deps
    this.#client = new ProxyClient({ timeoutMs: deps.timeoutMs ?? PROXY_TIMEOUT_MS })
    this.ownerScrapes = new OwnerScrapes({
      selfId: () => deps.directory.selfId,
      mayContact: deps.mayContact,
      fetchJson: (url, req) => deps.transport.fetchJson(url, req),
      timeoutMs: deps.timeoutMs,
    })
  }

  /**
   * The client address a proxied announce vouches for, from its X-Monsoon-Announce header;
   * throws NodeMessageError unless the header is a fresh one MACed by a relay this one knows,
   * for exactly this request target.
   */
  forwardedIp(header: string, target: string, nowSeconds: number): string {
    const parts = header.split(' ')
    if (parts.length !== 4) throw new NodeMessageError('malformed', `${PROXY_HEADER} is malformed`)
    const [from, tsText, ip, mac] = parts
    if (!/^[0-9a-f]{64}$/.test(from) || !/^\d{1,12}$/.test(tsText) || !/^[0-9a-f]{64}$/.test(mac)) {
      throw new NodeMessageError('malformed', `${PROXY_HEADER} is malformed`)
    }
    if (ip.length > 45) throw new NodeMessageError('malformed', 'client address is too long')
    const ts = Number(tsText)
    if (Math.abs(ts - nowSeconds) > MESSAGE_WINDOW_SECONDS) {
      throw new NodeMessageError(
        'stale',
        `proxied announce is more than ${MESSAGE_WINDOW_SECONDS} s old`,
      )
    }
    if (!this.#deps.directory.get(from, nowSeconds)) {
      throw new NodeMessageError('unknown-sender', 'proxied by a relay this one does not know')
    }
    const expected = this.#mac(from, from, this.#deps.directory.selfId, ts, ip, target)
    if (!timingSafeEqual(expected, Buffer.from(mac, 'hex'))) {
      throw new NodeMessageError('bad-signature', 'proxied announce MAC does not match')
    }
    return ip
  }

  /** The header that vouches for `ip` asking `target` of `owner`. */
  header(owner: string, target: string, ip: string, nowSeconds: number): string {
    const self = this.#deps.directory.selfId
    const mac = this.#mac(owner, self, owner, nowSeconds, ip, target).toString('hex')
    return `${self} ${nowSeconds} ${ip} ${mac}`
  }

  /** HMAC-SHA256 under the pair key with `peer`, over who, to whom, when, for whom, what. */
  #mac(peer: string, from: string, to: string, ts: number, ip: string, target: string): Buffer {
    return createHmac('sha256', this.#keyFor(peer))
      .update(`monsoon-announce\n${from}\n${to}\n${ts}\n${ip}\n${target}`)
      .digest()
  }

  #keyFor(peer: string): Buffer {
    let key = this.#keys.get(peer)
    if (!key) {
      const { signer } = this.#deps
      key = Buffer.from(pairKey(signer.secretKey, signer.id, peer, 'announce'))
      this.#keys.set(peer, key)
    }
    return key
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

  /** Scrape counts for hashes owned elsewhere, from their owners: batched, coalesced,
   * cached and capped (owner-scrapes.ts); `local` counts a hash no owner answered for, and a
   * hash left unknown for the caps is missing from the answer. Never rejects. */
  scrape(
    hashes: OwnedHash[],
    local: (infoHash: string) => ScrapeEntry,
    ask: ScrapeAsk,
  ): Promise<ScrapeEntry[]> {
    return this.ownerScrapes.scrape(hashes, local, ask)
  }

  close(): void {
    this.#agent.destroy()
    this.#httpsAgent.destroy()
    this.#client.close()
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
    const origin = owner.urls[0]
    if (!origin || !(this.#deps.mayContact?.(origin) ?? true)) {
      return Promise.reject(new Error(`${owner.id} has no URL this relay may contact`))
    }
    const header = this.header(owner.id, target, ip, Math.floor(Date.now() / 1000))
    const base = this.#originUrl(origin)
    // The request target exactly as the client sent it: it is what the MAC covers.
    if (base.protocol === 'http:' && isSendableTarget(target)) {
      return this.#client.get(base, target, PROXY_HEADER, header)
    }
    return this.#get(new URL(target, origin), { [PROXY_HEADER]: header })
  }

  /** An owner's URL, parsed once (per announce it cost more than the HMAC). */
  #originUrl(origin: string): URL {
    let url = this.#origins.get(origin)
    if (url === undefined) {
      url = new URL(origin)
      this.#origins.set(origin, url)
    }
    return url
  }

  /** GET `url` with node's client (HTTPS owners, through --tls-ca's agent), with a timeout
   * and a byte cap. */
  #get(url: URL, headers: Record<string, string>) {
    const origin = url.origin
    const https = url.protocol === 'https:'
    return new Promise<Buffer>((resolve, reject) => {
      const req = (https ? httpsRequest : request)(
        url,
        {
          agent: https ? (this.#deps.transport.httpsAgent ?? this.#httpsAgent) : this.#agent,
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
