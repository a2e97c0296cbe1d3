// One port for everything (relay/transport/one-port.ts tells HTTP, TLS and TURN apart). A
// plain node:http server, which never listens itself, answers the tracker's hot path
// (/announce, /scrape) straight from the raw request, hands every other request to the Hono
// app, and upgrades WebSockets on `/` and `/announce` for the WebTorrent tracker.
// The tracker bypasses Hono because building a fetch Request per announce costs more than
// the announce itself (bench/tracker-http measures it).

import { mkdirSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { getRequestListener } from '@hono/node-server'
import { WebSocketServer, type WebSocket } from 'ws'
import type { NodeIdentity } from '../shared/identity.ts'
import { createApi } from './api.ts'
import { RelayTurn } from './ice/relay-turn.ts'
import { createRelayBridge } from './bridge/service.ts'
import { createDiscovery } from './bootstrap/discovery.ts'
import { isDohPath } from './dns/doh.ts'
import { createCatalog, type Catalog } from './catalog/catalog.ts'
import type { LiveScrapeAsk } from './catalog/routes.ts'
import type { RelayConfig } from './config.ts'
import { loadNodeIdentity } from './identity.ts'
import {
  CONNECTIONS_CHECK_INTERVAL_MS,
  HEADERS_TIMEOUT_MS,
  MAX_RATE_BUCKETS,
  MAX_WS_MESSAGE_BYTES,
  REQUEST_BURST_PER_ADDRESS,
  REQUEST_PENALTY_MS,
  REQUEST_TIMEOUT_MS,
  REQUESTS_PER_ADDRESS_PER_SECOND,
} from './limits.ts'
import { createLogger, type Logger } from './log.ts'
import { encodeMetrics, relayMetrics, swarmFigures } from './metrics.ts'
import { Refusals } from './refusals.ts'
import { PROXY_HEADER } from './supernode/announce-proxy.ts'
import { createSupernode, type Supernode } from './supernode/supernode.ts'
import { SEALED_PATH } from '../shared/sealed/client.ts'
import { SealedTransport } from './sealed/transport.ts'
import { SealedSessionBudget } from './sealed/session-budget.ts'
import { sealedTunnel } from './sealed/tunnel.ts'
import { readCa, type TlsMaterial } from './tls/tls.ts'
import type { AcmeResponder } from './tls/acme.ts'
import { OnePort } from './transport/one-port.ts'
import { socketWorkers } from './transport/socket-workers.ts'
import { ConnectionBudget, connectionKey } from './transport/connection-budget.ts'
import { RequestRate } from './transport/request-rate.ts'
import { HttpBudget } from './transport/http-budget.ts'
import { handleHttpTracker, requestInfoHashes, scrapeAnswer } from './tracker/http.ts'
import { TrackerFront, countParams, isTrackerPath } from './tracker/http-front.ts'
import { TOO_MANY_BODY } from './tracker/http-wire.ts'
import {
  Tracker,
  clientIp,
  type Announce,
  type AnnounceResult,
  type ScrapeEntry,
} from './tracker/tracker.ts'
import { SignalledPeers } from './tracker/signalled-peers.ts'
import { addressKey } from './tracker/holdings.ts'
import { CoalescedWrites } from './tracker/coalesced-writes.ts'
import { WsSocket, WsTrackerConnection } from './tracker/websocket.ts'
import { plainFramesAllowed, writeTextFrame } from './tracker/ws-frames.ts'
import { SEALED_WS_PROTOCOL, SealedSignalling } from './tracker/ws-sealed.ts'

/** A header's value from raw headers (name in lower case), without building req.headers:
 * the tracker's hot path reads only this one. */
function rawHeader(raw: string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === name.length && raw[i].toLowerCase() === name) return raw[i + 1]
  }
  return undefined
}

/** How often silent peers are swept out. */
const SWEEP_INTERVAL_MS = 30_000
/** WebSocket ping period; a socket that misses one pong is closed. */
const WS_PING_INTERVAL_MS = 30_000

/** The tracker, counting announces by peer kind for /metrics: `tcp` peers announce over
 * HTTP, `rtc` peers over WebSocket. Malformed requests never reach it and are not counted. */
class CountingTracker extends Tracker {
  readonly announces = { tcp: 0, rtc: 0 }

  override announce(req: Announce, now: number): AnnounceResult {
    this.announces[req.kind]++
    return super.announce(req, now)
  }
}

export interface Relay {
  readonly config: RelayConfig
  readonly tracker: Tracker
  readonly catalog: Catalog
  readonly identity: NodeIdentity
  readonly supernode: Supernode
  /** The HTTP server behind the one port: HTTP and HTTPS connections reach it as
   * 'connection' events; it does not listen itself. */
  readonly server: Server
  /** Serves TLS with this certificate from the next handshake on (ACME renewals). */
  setTls(material: TlsMaterial): void
  listen(): Promise<AddressInfo>
  close(): Promise<void>
}

export function createRelay(
  config: RelayConfig,
  log: Logger = createLogger(config.logLevel),
  /** Serve HTTPS/WSS with this certificate (relay/tls/tls.ts loads it); else plain HTTP. */
  tls?: TlsMaterial,
  /** ACME challenges answered on the port (relay/tls/acme.ts): TLS-ALPN-01 and HTTP-01. */
  acme?: AcmeResponder,
): Relay {
  mkdirSync(config.dataDir, { recursive: true })
  const key = loadNodeIdentity(config.dataDir)
  log.info(key.created ? 'node key created' : 'node key loaded', { id: key.identity.id })
  if (key.readableByOthers) log.warn('node key is readable by other users', { path: key.path })
  const startedAt = Date.now()
  // Every refusal for a budget or for abuse is counted and said (refusals.ts).
  const refusals = new Refusals(log)
  // New sealed sessions (an X25519 each), per address and in all: POST /v1/sealed and
  // sealed tracker sockets share it (sealed/session-budget.ts).
  const sealedBudget = new SealedSessionBudget(refusals)
  // Requests to other relays: sealed over plain HTTP, --tls-ca trusted over HTTPS.
  const transport = new SealedTransport({
    identity: key.identity,
    seal: !config.unsealed,
    ca: config.tlsCa.map(readCa),
  })
  const tracker = new CountingTracker(
    {
      interval: config.announceInterval,
      // A peer that missed two announces (plus a minute of slack) is gone.
      peerTtl: Math.max(config.announceInterval, config.wsAnnounceInterval) * 2 + 60,
      maxSwarms: config.maxTorrents,
      maxPeers: config.maxPeers,
      maxSwarmsPerAddress: config.maxTorrentsPerAddress,
      maxPeersPerAddress: config.maxPeersPerAddress,
    },
    refusals,
  )
  // Figures of hashes from their owners (announce-proxy.ts, owner-scrapes.ts), for the
  // tracker's scrape and the catalog's live stats; `ownedOnly` is another relay asking this
  // one as an owner: answered from the tracker, for the hashes it owns, never asked further.
  // Reads `supernode`, created next, only when called.
  const liveScrape = async (hashes: string[], ask?: LiveScrapeAsk): Promise<ScrapeEntry[]> => {
    const { placement, proxy } = supernode
    if (placement.alone()) return tracker.scrape(hashes)
    const wheres = hashes.map((infoHash) => ({ infoHash, placement: placement.of(infoHash) }))
    if (ask?.ownedOnly) {
      proxy.ownerScrapes.stats.served++
      return tracker.scrape(wheres.filter((w) => w.placement.local).map((w) => w.infoHash))
    }
    if (wheres.every((w) => w.placement.local)) return tracker.scrape(hashes)
    const source = ask?.source ? addressKey(ask.source) : ''
    return proxy.scrape(wheres, (infoHash) => tracker.scrape([infoHash])[0], {
      source,
      onBusy: (unknown) => refusals.refuse('fanout-busy', source, { unknown }),
    })
  }
  const catalog = createCatalog(config, tracker, log, refusals, transport, liveScrape)
  // STUN and TURN (relay/ice/, relay/turn/): permissions only towards peers the tracker
  // signalled to that browser.
  const signalled = new SignalledPeers()
  const turn = new RelayTurn(config, log, tls !== undefined, signalled)
  const supernode = createSupernode(
    config,
    key.identity,
    tracker,
    log,
    transport,
    () => turn.relayedBytesPerSecond,
    refusals,
  )
  const discovery = createDiscovery(config, supernode, log, transport, refusals)
  const bridge = createRelayBridge(config, { log, tracker, supernode, refusals })
  const { meter } = supernode
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES })
  const metrics = () => {
    const nowSeconds = Math.floor(Date.now() / 1000)
    const live = supernode.directory.live(nowSeconds)
    const candidates = live.filter((r) => r.role === 'candidate').length
    return encodeMetrics([
      ...relayMetrics({
        torrents: tracker.swarms.size,
        ...swarmFigures(tracker.swarms.values()),
        announces: { http: tracker.announces.tcp, ws: tracker.announces.rtc },
        bandwidthBytesPerSecond: meter.bytesPerSecond,
        ...(config.turn && { relayedBytesPerSecond: turn.relayedBytesPerSecond }),
        capacity: {
          maxTorrents: config.maxTorrents,
          maxPeers: config.maxPeers,
          maxBandwidth: config.maxBandwidth,
          ...(config.turn && { maxRelayed: config.turnMaxBandwidth }),
        },
        listings: catalog.store.count(),
        supernodes: { supernode: live.length - candidates, candidate: candidates },
        hosts: supernode.hosts.size,
        role: supernode.self.role,
        election: supernode.election.stats,
        handoff: supernode.handoff.stats,
        proxy: supernode.proxy.stats,
        websocketConnections: wss.clients.size,
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        residentMemoryBytes: process.memoryUsage.rss(),
      }),
      ...turn.metrics(),
      ...connections.metrics(),
      ...(workers?.metrics() ?? []),
      ...httpBudget.metrics(),
      ...supernode.proxy.ownerScrapes.metrics(),
      ...refusals.metrics(),
    ])
  }
  const api = createApi({
    config,
    tracker,
    log,
    startedAt,
    nodeId: key.identity.id,
    routes: [catalog.routes, supernode.routes, ...discovery.routes, bridge.routes],
    metrics,
    iceConfig: (requestHost) => turn.iceConfig(requestHost),
  })
  // What requests and answers may hold in memory, per address and in all; request bodies are
  // read there first (rawBody), so Hono's listener never reads the socket.
  const httpBudget = new HttpBudget({
    refusals,
    log,
    trustProxy: config.trustProxy,
    maxRequestBuffer: config.maxRequestBuffer,
    maxResponseBuffer: config.maxResponseBuffer,
    stallTimeoutMs: config.stallTimeout * 1000,
  })
  const honoListener = getRequestListener(api.fetch, { autoCleanupIncoming: false })
  // POST /v1/sealed: API requests sealed over plain HTTP, answered by the API itself.
  const sealedListener = getRequestListener(
    sealedTunnel({
      identity: key.identity,
      budget: sealedBudget,
      trustProxy: config.trustProxy,
      dispatch: (req, env) => api.fetch(req, env),
    }).fetch,
    { autoCleanupIncoming: false },
  )
  const httpTrackerOptions = {
    interval: config.announceInterval,
    minInterval: Math.max(1, Math.floor(config.announceInterval / 2)),
    trustProxy: config.trustProxy,
  }

  const localTrackerOptions = { ...httpTrackerOptions, trustProxy: false }
  /** The tracker's answer as this relay gives it, for a client at `ip`. */
  const localAnswer = (url: string, ip: string) =>
    handleHttpTracker(tracker, { url, remoteAddress: ip }, localTrackerOptions, Date.now())
  /**
   * Answers /announce or /scrape from a client at `ip`: here when this relay owns the hash
   * (copying an announce to the other owner), else through its owners (announce-proxy.ts).
   */
  const trackerAnswer = (url: string, ip: string): Uint8Array | Promise<Uint8Array> => {
    const { placement, proxy } = supernode
    if (placement.alone()) return localAnswer(url, ip)
    const hashes = requestInfoHashes(url)
    if (hashes.length === 0) return localAnswer(url, ip)
    const nowSeconds = Math.floor(Date.now() / 1000)
    if (url.startsWith('/announce')) {
      const where = placement.of(hashes[0], nowSeconds)
      if (where.local && where.owners.length <= 1) return localAnswer(url, ip)
      return proxy.announce(url, ip, where, () => localAnswer(url, ip))
    }
    if (hashes.every((infoHash) => placement.of(infoHash, nowSeconds).local)) {
      return localAnswer(url, ip)
    }
    return liveScrape(hashes, { source: ip }).then(scrapeAnswer)
  }

  // Requests per address (transport/request-rate.ts); behind a trusted proxy, by the address
  // it names.
  const requestRate = new RequestRate({
    perSecond: config.maxRequestsPerAddress,
    burst:
      config.maxRequestsPerAddress * (REQUEST_BURST_PER_ADDRESS / REQUESTS_PER_ADDRESS_PER_SECOND),
    penaltyMs: config.trustProxy ? 0 : REQUEST_PENALTY_MS,
    maxAddresses: MAX_RATE_BUCKETS,
    refusals,
  })
  const trackerFront = new TrackerFront({
    trustProxy: config.trustProxy,
    requestRate,
    meter,
    onAnnounce: (url) => bridge.onAnnounce(url),
    answer: trackerAnswer,
    localAnswer,
    forwardedIp: (header, url) =>
      supernode.proxy.forwardedIp(header, url, Math.floor(Date.now() / 1000)),
  })
  const requestKey = (req: IncomingMessage) =>
    trackerFront.requestKey(
      req.socket.remoteAddress ?? '',
      // req.headers is built on first read: skip it unless a proxy is trusted.
      config.trustProxy ? req.headers['x-forwarded-for'] : undefined,
    )
  const tooMany = (res: ServerResponse) => {
    res.shouldKeepAlive = false
    res.writeHead(429, { 'Content-Type': 'text/plain', 'Retry-After': '1', Connection: 'close' })
    res.end(TOO_MANY_BODY)
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/'
    // The tracker's requests, as the one port's fast path answers them when they come whole
    // on a connection (transport/tracker-fast-path.ts).
    if (isTrackerPath(url)) {
      const answer = trackerFront.answer({
        url,
        remoteAddress: req.socket.remoteAddress ?? '',
        proxied: rawHeader(req.rawHeaders, PROXY_HEADER),
        forwardedFor: config.trustProxy ? req.headers['x-forwarded-for'] : undefined,
      })
      if (answer === null) return tooMany(res)
      const send = (body: Uint8Array) => {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length })
        res.end(body)
      }
      if (answer instanceof Uint8Array) send(answer)
      else void answer.then(send)
      return
    }
    // Another relay's proxied request is charged to the client it names, not to the relay.
    if (rawHeader(req.rawHeaders, PROXY_HEADER) === undefined) {
      const key = requestKey(req)
      if (!requestRate.take(key)) return tooMany(res)
      // Figures of many hashes cost more than one request (each may be asked of its owners):
      // a tenth of a request per hash asked.
      if (url.startsWith('/v1/stats')) {
        requestRate.charge(key, Math.floor(countParams(url) / 10))
      }
    }
    if (isDohPath(url)) return discovery.doh(req, res)
    // The rest hold memory for their bodies and answers only within budget (http-budget.ts).
    httpBudget.serve(req, res, url === SEALED_PATH ? sealedListener : honoListener)
  }

  const server = createServer(
    {
      maxHeaderSize: 16 * 1024,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS,
      ServerResponse: httpBudget.ServerResponse,
    },
    acme ? acme.http01(onRequest) : onRequest,
  )
  // Connections per address and in all, counted at accept (transport/connection-budget.ts).
  // Behind a trusted proxy every connection comes from the proxy: only the total applies.
  const connections = new ConnectionBudget({
    maxPerAddress: config.trustProxy ? Infinity : config.maxConnectionsPerAddress,
    maxTotal: config.maxConnections,
    refusals,
    requestRate,
  })
  const onePort = new OnePort({
    http: server,
    tls,
    acme,
    log,
    turn: turn.streams,
    connections,
    tracker: trackerFront,
  })
  // Other processes accepting on the port, answering through this one (issue 24).
  const workers = socketWorkers(config, {
    front: trackerFront,
    adopt: (socket, bytes) => onePort.adopt(socket, bytes),
    refusals,
    log,
    keepAliveTimeoutMs: server.keepAliveTimeout,
  })
  if (tls) log.info('tls on', { certificate: tls.source })
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (discovery.handOffHttp2(err, socket as Socket)) return
    // Headers not in within HEADERS_TIMEOUT_MS, or the whole request within REQUEST_TIMEOUT_MS.
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const source = connectionKey((socket as Socket).remoteAddress)
      refusals.refuse('request-stalled', source, {})
      if (socket.writable) socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n')
      else socket.destroy()
      return
    }
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    else socket.destroy()
  })

  const alive = new WeakSet<WebSocket>()
  const coalescedWrites = new CoalescedWrites()
  const sealedSignalling = new SealedSignalling({ identity: key.identity, budget: sealedBudget })
  /** Tracker WebSockets open (or being upgraded) by address: one entry per open socket at
   * most, so bounded by the connections the server holds. */
  const websocketsByAddress = new Map<string, number>()
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!requestRate.take(requestKey(req))) {
      socket.end('HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nConnection: close\r\n\r\n')
      return
    }
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/' && path !== '/announce') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
      return
    }
    const ip = clientIp(
      req.socket.remoteAddress ?? '',
      req.headers['x-forwarded-for'],
      config.trustProxy,
    )
    // A budget of sockets per address: each holds up to MAX_SWARMS_PER_SOCKET peer entries
    // and its buffers, and one stock client needs one.
    const source = addressKey(ip)
    const open = websocketsByAddress.get(source) ?? 0
    if (open >= config.maxWebsocketsPerAddress) {
      refusals.refuse('websockets-per-address', source, { open })
      socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    websocketsByAddress.set(source, open + 1)
    // Counted until the socket closes, whether the upgrade succeeds or not.
    socket.once('close', () => {
      const left = (websocketsByAddress.get(source) ?? 1) - 1
      if (left > 0) websocketsByAddress.set(source, left)
      else websocketsByAddress.delete(source)
    })
    wss.handleUpgrade(req, socket, head, (ws) => {
      // The app seals its signalling on plain HTTP (ws-sealed.ts); the stock client does not.
      const sealed = ws.protocol === SEALED_WS_PROTOCOL ? sealedSignalling.channel(source) : null
      const plainFrames = plainFramesAllowed(ws.extensions)
      const counted = new WsSocket(ws, (message: string) => {
        meter.add(message.length)
        const frame = sealed ? sealed.seal(message) : message
        if (frame === null) return
        // Every frame this socket is sent this turn leaves in one write.
        coalescedWrites.hold(socket)
        if (typeof frame === 'string' && plainFrames) writeTextFrame(socket, frame)
        else ws.send(frame)
      })
      const conn = new WsTrackerConnection(counted, ip, tracker, {
        interval: config.wsAnnounceInterval,
        refer: (infoHash) => supernode.placement.referral(infoHash),
        signalled,
      })
      alive.add(ws)
      ws.on('pong', () => alive.add(ws))
      ws.on('message', (data, isBinary) => {
        if (sealed) {
          const text = sealed.open(data as Buffer, isBinary)
          if (typeof text !== 'string') {
            log.debug('sealed websocket refused', { ip, reason: text.reason })
            ws.close(text.code, text.reason)
            return
          }
          meter.add(text.length)
          conn.onMessage(text, Date.now())
          return
        }
        if (isBinary) {
          ws.send(JSON.stringify({ 'failure reason': 'binary frames are not supported' }))
          return
        }
        const text = data.toString()
        meter.add(text.length)
        conn.onMessage(text, Date.now())
      })
      ws.on('close', () => conn.onClose())
      ws.on('error', (err) => log.debug('websocket error', { ip, error: err.message }))
    })
  })

  const sweepTimer = setInterval(() => {
    const gone = tracker.sweep(Date.now())
    if (gone.peers || gone.swarms) log.debug('sweep', gone)
  }, SWEEP_INTERVAL_MS)
  sweepTimer.unref()
  const pingTimer = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate()
        continue
      }
      alive.delete(ws)
      ws.ping()
    }
  }, WS_PING_INTERVAL_MS)
  pingTimer.unref()

  return {
    config,
    tracker,
    catalog,
    identity: key.identity,
    supernode,
    server,
    setTls: (material) => {
      onePort.setTls(material)
      log.info('tls certificate in use', { certificate: material.source })
    },
    listen: () =>
      new Promise((resolve, reject) => {
        onePort.listen(config.port, config.host).then((address) => {
          // The default public URL names port 0 until the OS has picked one.
          config.publicUrl = config.publicUrl.replace(
            /^(https?:\/\/localhost):0$/,
            `$1:${address.port}`,
          )
          workers?.start(onePort.server)
          catalog.start()
          supernode.start()
          Promise.all([
            discovery.start(),
            bridge.start(address.port),
            turn.start(address.port),
          ]).then(() => resolve(address), reject)
        }, reject)
      }),
    close: async () => {
      clearInterval(sweepTimer)
      clearInterval(pingTimer)
      // Leaves the supernode network first, while /v1/hello still answers (demoted).
      await discovery.close()
      await supernode.close()
      await bridge.close()
      for (const ws of wss.clients) ws.terminate()
      wss.close()
      await workers?.close()
      await onePort.close()
      httpBudget.close()
      await turn.close()
      await catalog.close()
      transport.close()
    },
  }
}
