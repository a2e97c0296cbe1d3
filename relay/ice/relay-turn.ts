// The relay's STUN/TURN service as the rest of the relay sees it: the TURN secret, the
// server (relay/turn/) started on the relay's UDP port number once the relay listens, the
// ICE servers GET /v1/config hands out (ice-servers.ts), the relayed bandwidth behind the
// supernode record's load, and the /metrics families. TURN over TCP and TLS arrives through
// the one-port listener (relay/transport/one-port.ts) as `streams`.

import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { parsePortRange, type RelayConfig } from '../config.ts'
import type { Logger } from '../log.ts'
import { turnMetrics, type MetricFamily } from '../metrics.ts'
import { BandwidthMeter } from '../supernode/bandwidth.ts'
import type { SignalledPeers } from '../tracker/signalled-peers.ts'
import { createTurnServer, type TurnServer } from '../turn/turn-server.ts'
import { relayIceConfig, type RelayIceConfig } from './ice-servers.ts'
import { relayBindHost, resolveRelayAddress } from './relay-address.ts'
import { loadTurnSecret } from './secret.ts'

/** The realm of our long-term credentials (RFC 8489 §9.2): one for every relay, since the
 * credentials are the network's scheme, not a site's accounts. */
const REALM = 'monsoon'

export class RelayTurn {
  readonly #config: RelayConfig
  readonly #log: Logger
  readonly #tls: boolean
  readonly #signalled: SignalledPeers
  readonly #secret: string | undefined
  readonly #meter = new BandwidthMeter()
  #server: TurnServer | undefined
  #udpPort: number | undefined
  #relayedTotal = 0
  #timer: NodeJS.Timeout | undefined

  constructor(config: RelayConfig, log: Logger, tls: boolean, signalled: SignalledPeers) {
    this.#config = config
    this.#log = log
    this.#tls = tls
    this.#signalled = signalled
    const namesTurn = config.iceServers.some((url) => /^turns?:/.test(url))
    if (config.turn || namesTurn) {
      const loaded = loadTurnSecret(config.dataDir, config.turnSecretFile)
      if (loaded.created) log.info('turn secret created', { path: loaded.path })
      if (loaded.readableByOthers) {
        log.warn('turn secret is readable by other users', { path: loaded.path })
      }
      this.#secret = loaded.secret
    }
  }

  /** TURN over TCP or TLS, handed over by the one-port listener. */
  readonly streams = {
    handleStream: (socket: Socket, transport: 'tcp' | 'tls'): void => {
      if (this.#server && this.#config.turn) this.#server.handleStream(socket, transport)
      else socket.destroy()
    },
  }

  /** Bytes per second relayed lately (the supernode record's `load.relay`). */
  get relayedBytesPerSecond(): number {
    return this.#meter.bytesPerSecond
  }

  /** Starts STUN/TURN on UDP at `tcpPort`'s number (or --stun-port). A port that cannot be
   * had is logged, not fatal: the tracker and the app still serve. */
  async start(tcpPort: number): Promise<void> {
    const config = this.#config
    if (!config.stun && !config.turn) return
    const relayAddress = await resolveRelayAddress(config.publicUrl, config.host)
    this.#server = createTurnServer({
      realm: REALM,
      // STUN alone needs no credentials; the server still wants a key for its nonces.
      secret: this.#secret ?? randomBytes(32).toString('hex'),
      stun: config.stun,
      turn: config.turn,
      relayPorts: parsePortRange(config.turnRelayPorts)!,
      relayHost: relayBindHost(config.host),
      relayAddress,
      maxAllocations: config.turnMaxAllocations,
      maxBandwidth: config.turnMaxBandwidth,
      localNetwork: config.localNetwork,
      mayPermit: (clientIp, peerIp) => this.#signalled.mayPermit(clientIp, peerIp, Date.now()),
      log: this.#log,
    })
    const port = config.stunPort ?? tcpPort
    try {
      this.#udpPort = await this.#server.listenUdp(port, config.host)
      this.#log.info('stun/turn on', {
        udpPort: this.#udpPort,
        stun: config.stun,
        turn: config.turn,
        relayAddress,
        relayPorts: config.turnRelayPorts,
      })
    } catch (err) {
      this.#log.error('stun/turn udp port unavailable: browsers get no STUN or TURN over UDP', {
        port,
        error: String(err),
      })
    }
    this.#timer = setInterval(() => {
      const stats = this.#server?.stats
      if (!stats) return
      const total = stats.bytesToPeers + stats.bytesToClients
      this.#meter.add(total - this.#relayedTotal)
      this.#relayedTotal = total
      this.#meter.tick()
    }, 1000)
    this.#timer.unref()
  }

  /** GET /v1/config's answer: fresh credentials each time. `requestHost` is the Host the
   * browser reached us at: a relay left on the default public URL (localhost) names itself
   * by it, so `npm start` on a public host helps browsers across NATs with no flag. */
  iceConfig(requestHost?: string, nowSeconds = Math.floor(Date.now() / 1000)): RelayIceConfig {
    const config = this.#config
    const url = reachedAt(config.publicUrl, requestHost)
    const tcpPort = Number(url.port) || (url.protocol === 'https:' ? 443 : 80)
    const udp = this.#udpPort !== undefined
    return relayIceConfig(
      {
        host: url.hostname,
        tcpPort,
        udpPort: this.#udpPort ?? tcpPort,
        stun: config.stun && udp,
        // Without the UDP port TURN still runs over TCP/TLS; the UDP entry then fails fast.
        turn: config.turn && this.#server !== undefined,
        tls: this.#tls,
        extra: config.iceServers,
        secret: this.#secret,
      },
      nowSeconds,
    )
  }

  metrics(): MetricFamily[] {
    const stats = this.#server?.stats
    if (!stats) return []
    return turnMetrics({
      ...stats,
      relayedBytesPerSecond: this.#meter.bytesPerSecond,
      maxAllocations: this.#config.turnMaxAllocations,
      maxBandwidth: this.#config.turnMaxBandwidth,
    })
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.#server?.close()
  }
}

/** The public URL, or, when that is the default `localhost` one, the origin the request
 * came to (same scheme). A Host that does not parse as one leaves the public URL. */
function reachedAt(publicUrl: string, requestHost: string | undefined): URL {
  const url = new URL(publicUrl)
  if (url.hostname !== 'localhost' || !requestHost) return url
  try {
    const reached = new URL(`${url.protocol}//${requestHost}`)
    const bare = reached.pathname === '/' && !reached.username && !reached.search
    return bare && reached.host === requestHost.toLowerCase() ? reached : url
  } catch {
    return url
  }
}
