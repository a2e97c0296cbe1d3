// The relay's one config module. Every option has a type, a default and a help line here;
// CLI flags (`--data-dir`), environment variables (`MONSOON_DATA_DIR`) and a JSON config
// file (`--config relay.json`, keys in camelCase) all map onto it. Precedence: flag > env >
// file > default. Unknown keys and impossible values are refused at start-up.

import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { parseArgs } from 'node:util'
import { SUPERNODE_ROLES, canonicalUrl, type SupernodeRole } from '../shared/supernode.ts'
import {
  ADDRESS_PUBLISHES_PER_MINUTE,
  DNS_UDP_QUERIES_PER_SECOND,
  MAX_SUPERNODES_PER_PREFIX,
  MAX_BOOTSTRAP_SOURCES,
  MAX_LISTINGS_PER_PUBLISHER,
  MAX_ICE_SERVERS,
  BRIDGE_TORRENTS_PER_ADDRESS,
  MAX_PEERS,
  MAX_PEERS_PER_ADDRESS,
  MAX_TORRENTS_PER_ADDRESS,
  MAX_WEBSOCKETS_PER_ADDRESS,
  PUBLISHER_PUBLISHES_PER_MINUTE,
  MAX_CATALOG_BYTES,
  NEW_PUBLISHERS_PER_ADDRESS_PER_HOUR,
  PEER_PULL_LISTINGS_PER_MINUTE,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_ADDRESS,
  REQUESTS_PER_ADDRESS_PER_SECOND,
  MAX_REQUEST_BUFFER_BYTES,
  MAX_RESPONSE_BUFFER_BYTES,
  STALL_TIMEOUT_SECONDS,
} from './limits.ts'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

export interface RelayConfig {
  port: number
  host: string
  dataDir: string
  publicUrl: string
  logLevel: LogLevel
  trustProxy: boolean
  tlsCert: string | undefined
  tlsKey: string | undefined
  tlsSelfSigned: boolean
  tlsCa: string[]
  unsealed: boolean
  announceInterval: number
  wsAnnounceInterval: number
  maxTorrents: number
  maxPeers: number
  maxTorrentsPerAddress: number
  maxPeersPerAddress: number
  maxWebsocketsPerAddress: number
  maxBandwidth: number
  maxConnectionsPerAddress: number
  maxRequestsPerAddress: number
  maxConnections: number
  workers: number
  stallTimeout: number
  maxRequestBuffer: number
  maxResponseBuffer: number
  role: SupernodeRole
  appDir: string
  peers: string[]
  iceServers: string[]
  stun: boolean
  stunPort: number | undefined
  turn: boolean
  turnSecretFile: string | undefined
  turnMaxBandwidth: number
  turnMaxAllocations: number
  turnRelayPorts: string
  acmeDomains: string[]
  acmeDirectory: string
  acmeEmail: string | undefined
  acmeCa: string[]
  peerPollInterval: number
  supernodePollInterval: number
  localNetwork: boolean
  highWatermark: number
  lowWatermark: number
  minSupernodes: number
  maxSupernodesPerPrefix: number
  admissionProbation: number
  rotationInterval: number
  maxListingsPerPublisher: number
  publishRatePerPublisher: number
  publishRatePerAddress: number
  newPublishersPerAddress: number
  maxCatalogBytes: number
  peerPullRate: number
  dnsZones: string[]
  dnsPort: number | undefined
  dnsTtl: number
  dnsNameServers: string[]
  dnsRate: number
  dohEndpoints: string[]
  bootstrapUrls: string[]
  bridge: boolean
  bridgeMaxTorrents: number
  bridgeTorrentsPerAddress: number
  bridgeMaxDisk: number
  bridgeMaxMemory: number
  bridgeMaxRate: number
  bridgePort: number
  bridgeDht: boolean
  bridgeLsd: boolean
}

interface OptionSpec {
  key: keyof RelayConfig
  flag: string
  /** 'strings': repeatable flag; comma-separated in env, an array or a string in a file. */
  type: 'string' | 'number' | 'boolean' | 'strings'
  /** Shown in --help; undefined means derived (explained in `help`). */
  default: string | number | boolean | string[] | undefined
  help: string
  check?: (v: never) => string | null
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent']

/** `--workers` when not given: 0, one process per core. Measured on 2 quiet cores
 * (bench/tracker-http, one run): two processes answered 1.49x the announces of one with a new
 * connection each (9,096/s against 6,095) and 1.24x with keep-alive; `--workers 1` is the
 * single process of before. */
export const DEFAULT_WORKERS = 0
/** Most processes `--workers` may ask for: more than the cores of any host that runs a relay. */
export const MAX_WORKERS = 64

export const OPTIONS: OptionSpec[] = [
  {
    key: 'port',
    flag: 'port',
    type: 'number',
    default: 8080,
    help: 'TCP port for everything: app, tracker, API, WebSocket (0 picks a free one)',
    check: (v: number) => (Number.isInteger(v) && v >= 0 && v <= 65535 ? null : 'must be 0-65535'),
  },
  {
    key: 'host',
    flag: 'host',
    type: 'string',
    default: '0.0.0.0',
    help: 'address to listen on (127.0.0.1 keeps the relay private to this machine)',
  },
  {
    key: 'dataDir',
    flag: 'data-dir',
    type: 'string',
    default: './data',
    help: 'where the relay keeps its keys and its catalog',
  },
  {
    key: 'publicUrl',
    flag: 'public-url',
    type: 'string',
    default: undefined,
    help: 'URL others reach this relay at (default: http://localhost:PORT; https: with TLS)',
    // It is signed into the supernode record, so it must be a bare origin (no user, path).
    check: (v: string) =>
      /^https?:\/\/[^/]+\/?$/.test(v) && isOrigin(v) ? null : 'must be http(s)://host[:port]',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    type: 'string',
    default: 'info',
    help: `one of ${LOG_LEVELS.join(', ')}`,
    check: (v: string) =>
      LOG_LEVELS.includes(v) ? null : `must be one of ${LOG_LEVELS.join(', ')}`,
  },
  {
    key: 'trustProxy',
    flag: 'trust-proxy',
    type: 'boolean',
    default: false,
    help: 'take client addresses from X-Forwarded-For (only behind your own reverse proxy)',
  },
  {
    key: 'tlsCert',
    flag: 'tls-cert',
    type: 'string',
    default: undefined,
    help: 'PEM certificate (chain): everything on the port over HTTPS and WSS (default: plain HTTP)',
  },
  {
    key: 'tlsKey',
    flag: 'tls-key',
    type: 'string',
    default: undefined,
    help: "PEM private key of --tls-cert's certificate (default: plain HTTP)",
  },
  {
    key: 'tlsSelfSigned',
    flag: 'tls-self-signed',
    type: 'boolean',
    default: false,
    help: 'HTTPS with a self-signed certificate made once in DATA_DIR/tls/ (for tests)',
  },
  {
    key: 'tlsCa',
    flag: 'tls-ca',
    type: 'strings',
    default: [],
    help: "PEM CA certificate trusted for other relays' HTTPS, beside the system's (repeatable)",
  },
  {
    key: 'unsealed',
    flag: 'unsealed',
    type: 'boolean',
    default: false,
    help: 'talk to plain-HTTP relays in clear instead of sealed (debugging only)',
  },
  {
    key: 'announceInterval',
    flag: 'announce-interval',
    type: 'number',
    default: 600,
    help: 'seconds between HTTP announces asked of classic clients',
    check: positive,
  },
  {
    key: 'wsAnnounceInterval',
    flag: 'ws-announce-interval',
    type: 'number',
    default: 120,
    help: 'seconds between WebSocket announces asked of browsers',
    check: positive,
  },
  {
    key: 'maxTorrents',
    flag: 'max-torrents',
    type: 'number',
    default: 100_000,
    help: 'most info hashes tracked at once',
    check: positive,
  },
  {
    key: 'maxPeers',
    flag: 'max-peers',
    type: 'number',
    default: 1_000_000,
    help: 'most peers tracked at once, over all torrents',
    check: positive,
  },
  {
    key: 'maxTorrentsPerAddress',
    flag: 'max-torrents-per-address',
    type: 'number',
    default: MAX_TORRENTS_PER_ADDRESS,
    help: 'most torrents one address (IPv6: its /64) may have created and still held',
    check: positive,
  },
  {
    key: 'maxPeersPerAddress',
    flag: 'max-peers-per-address',
    type: 'number',
    default: MAX_PEERS_PER_ADDRESS,
    help: 'most peers one address (IPv6: its /64) may hold, over all torrents',
    check: positive,
  },
  {
    key: 'maxWebsocketsPerAddress',
    flag: 'max-websockets-per-address',
    type: 'number',
    default: MAX_WEBSOCKETS_PER_ADDRESS,
    help: 'most tracker WebSockets open at once from one address (IPv6: its /64)',
    check: positive,
  },
  {
    key: 'maxBandwidth',
    flag: 'max-bandwidth',
    type: 'number',
    // 256 KiB/s (2 Mbit/s) fits beside the uplink of a home connection; at ~600 bytes an
    // HTTP announce and its answer, that is ~400 announces/s.
    default: 262_144,
    help: 'bytes/s given to tracking (announces, signalling), published as capacity',
    check: positive,
  },
  {
    key: 'maxConnectionsPerAddress',
    flag: 'max-connections-per-address',
    type: 'number',
    default: MAX_CONNECTIONS_PER_ADDRESS,
    help: 'most connections open at once from one address (IPv6: its /64), loopback included',
    check: positive,
  },
  {
    key: 'maxRequestsPerAddress',
    flag: 'max-requests-per-address',
    type: 'number',
    default: REQUESTS_PER_ADDRESS_PER_SECOND,
    help: 'HTTP requests per second from one address (bursts of 10x); past it 429, connection closed',
    check: positive,
  },
  {
    key: 'maxConnections',
    flag: 'max-connections',
    type: 'number',
    default: MAX_CONNECTIONS,
    help: 'most connections open at once on the port, over all addresses',
    check: positive,
  },
  {
    key: 'workers',
    flag: 'workers',
    type: 'number',
    default: DEFAULT_WORKERS,
    help:
      'processes accepting connections on the port, 0: one per core; the first holds the swarms, ' +
      'the others answer plain-HTTP announces and scrapes through it and hand it all else (TLS too)',
    check: (v: number) =>
      Number.isInteger(v) && v >= 0 && v <= MAX_WORKERS ? null : `must be 0-${MAX_WORKERS}`,
  },
  {
    key: 'stallTimeout',
    flag: 'stall-timeout',
    type: 'number',
    default: STALL_TIMEOUT_SECONDS,
    help: 'seconds a request body (408) or a large answer (closed) may move no byte',
    check: positive,
  },
  {
    key: 'maxRequestBuffer',
    flag: 'max-request-buffer',
    type: 'number',
    default: MAX_REQUEST_BUFFER_BYTES,
    // Under 4 x MAX_REQUEST_BODY_BYTES (~20 MiB), an address's quarter no longer holds the
    // largest body a route takes (a sealed handoff), and such bodies always get 503.
    help: 'bytes of request bodies held at once, over all addresses (one gets a quarter)',
    check: positive,
  },
  {
    key: 'maxResponseBuffer',
    flag: 'max-response-buffer',
    type: 'number',
    default: MAX_RESPONSE_BUFFER_BYTES,
    help: 'bytes of large answers in flight at once, over all addresses (one gets a quarter)',
    check: positive,
  },
  {
    key: 'role',
    flag: 'role',
    type: 'string',
    default: 'supernode',
    help: 'supernode (tracks its share of info hashes) or candidate (ready to be promoted)',
    check: (v: string) =>
      (SUPERNODE_ROLES as readonly string[]).includes(v)
        ? null
        : `must be one of ${SUPERNODE_ROLES.join(', ')}`,
  },
  {
    key: 'appDir',
    flag: 'app-dir',
    type: 'string',
    default: 'dist/app',
    help: 'the built app to serve (relative to the package)',
  },
  {
    key: 'peers',
    flag: 'peer',
    type: 'strings',
    default: [],
    help: 'another relay to sync the catalog with, http(s)://host[:port] (repeatable)',
    check: (v: string[]) => {
      if (v.length > MAX_PEERS) return `at most ${MAX_PEERS} peers`
      const bad = v.find((url) => !/^https?:\/\/[^/\s]+\/?$/.test(url))
      return bad === undefined ? null : `${bad} must be http(s)://host[:port]`
    },
  },
  {
    key: 'iceServers',
    flag: 'ice-server',
    type: 'strings',
    default: [],
    help: 'STUN/TURN server for browsers, stun:host:port; none: host candidates only (repeatable)',
    check: (v: string[]) => {
      if (v.length > MAX_ICE_SERVERS) return `at most ${MAX_ICE_SERVERS} ICE servers`
      const bad = v.find((url) => !/^(stun|stuns|turn|turns):[^\s/]+$/.test(url))
      return bad === undefined ? null : `${bad} must be stun:host[:port] or turn:host[:port]`
    },
  },
  {
    key: 'stun',
    flag: 'stun',
    type: 'boolean',
    // Without a STUN server two browsers behind ordinary home NATs never connect. On by
    // default: a Binding answer is the size of its request (no amplification).
    default: true,
    help: "answer STUN on UDP at the relay's port number, for browsers behind NAT (--no-stun: off)",
  },
  {
    key: 'stunPort',
    flag: 'stun-port',
    type: 'number',
    default: undefined,
    help: 'UDP port of STUN and TURN (default: the same number as --port)',
    check: (v: number) => (Number.isInteger(v) && v >= 0 && v <= 65535 ? null : 'must be 0-65535'),
  },
  {
    key: 'turn',
    flag: 'turn',
    type: 'boolean',
    // Symmetric NATs (mobile carriers, CGNAT) and UDP-blocking networks have no path without
    // a relay; ephemeral credentials and the caps below keep it from being an open proxy.
    default: true,
    help: 'relay WebRTC data (TURN, RFC 8656) over UDP, and TCP/TLS on the one port (--no-turn: off)',
  },
  {
    key: 'turnSecretFile',
    flag: 'turn-secret-file',
    type: 'string',
    default: undefined,
    help: 'shared secret of TURN credentials, made once when absent; also minted for --ice-server turn: (coturn static-auth-secret) (default: DATA_DIR/turn.secret)',
  },
  {
    key: 'turnMaxBandwidth',
    flag: 'turn-max-bandwidth',
    type: 'number',
    // 4 MiB/s (32 Mbit/s): a modest server's share, or a good home uplink's; one client
    // address gets at most half (limits.ts), so one relayed transfer runs at up to 2 MiB/s
    // (the NAT lab measured ~1 MiB/s relayed when the default was half this). Relaying is
    // bandwidth the supernode gives the network: published in its record.
    default: 4 * 1024 * 1024,
    help: 'bytes/s relayed for browsers over all allocations, published as capacity (0: no cap)',
    check: (v: number) => (Number.isInteger(v) && v >= 0 ? null : 'must be a whole number >= 0'),
  },
  {
    key: 'turnMaxAllocations',
    flag: 'turn-max-allocations',
    type: 'number',
    // Each allocation holds a UDP socket (a file descriptor): 1,000 stays inside the common
    // 1,024 soft limit's neighbourhood with the tracker's sockets beside it only when raised.
    default: 1000,
    help: 'most TURN allocations at once (each is a UDP port; a browser makes one per relayed peer)',
    check: positive,
  },
  {
    key: 'turnRelayPorts',
    flag: 'turn-relay-ports',
    type: 'string',
    // The IANA dynamic range, as coturn's default; firewalls of relays open it for UDP.
    default: '49152-65535',
    help: 'UDP ports the relayed addresses are taken from, MIN-MAX',
    check: (v: string) => (parsePortRange(v) ? null : 'must be MIN-MAX, 1024-65535, MIN <= MAX'),
  },
  {
    key: 'acmeDomains',
    flag: 'acme-domain',
    type: 'strings',
    default: [],
    help: 'get and renew an HTTPS certificate for this name (or IP) over ACME, RFC 8555 (repeatable)',
    check: (v: string[]) => {
      if (v.length > 16) return 'at most 16 names'
      const bad = v.find((name) => !isDnsName(name) && !isIP(name))
      return bad === undefined ? null : `${bad} is neither a DNS name nor an IP address`
    },
  },
  {
    key: 'acmeDirectory',
    flag: 'acme-directory',
    type: 'string',
    default: 'https://acme-v02.api.letsencrypt.org/directory',
    help: 'ACME directory URL of the certificate authority',
    check: (v: string) => (/^https?:\/\/\S+$/.test(v) ? null : 'must be an http(s) URL'),
  },
  {
    key: 'acmeEmail',
    flag: 'acme-email',
    type: 'string',
    default: undefined,
    help: 'contact address given to the ACME certificate authority (optional)',
  },
  {
    key: 'acmeCa',
    flag: 'acme-ca',
    type: 'strings',
    default: [],
    help: "PEM CA certificate trusted for the ACME server's HTTPS, beside the system's (repeatable)",
  },
  {
    key: 'peerPollInterval',
    flag: 'peer-poll-interval',
    type: 'number',
    default: 5,
    help: 'seconds between catalog pulls from a peer that had nothing new',
    check: positive,
  },
  {
    key: 'supernodePollInterval',
    flag: 'supernode-poll-interval',
    type: 'number',
    // A record lives an hour (shared/limits.ts); a pull every 30 s keeps the set fresh and
    // costs each peer two small requests per interval.
    default: 30,
    help: 'seconds between supernode exchanges (pull /v1/hello and /v1/supernodes, push ours)',
    check: positive,
  },
  {
    key: 'localNetwork',
    flag: 'local-network',
    type: 'boolean',
    default: false,
    help: 'accept private, loopback and link-local relay addresses (a LAN or test network)',
  },
  {
    key: 'highWatermark',
    flag: 'high-watermark',
    type: 'number',
    default: 0.8,
    help: 'load share (of max torrents, peers or bandwidth) above which a candidate is promoted',
    check: share,
  },
  {
    key: 'lowWatermark',
    flag: 'low-watermark',
    type: 'number',
    default: 0.1,
    help: "supernodes' mean load share under which the least loaded one steps down",
    check: share,
  },
  {
    key: 'minSupernodes',
    flag: 'min-supernodes',
    type: 'number',
    // Enough for R = 2 owners per hash with room for failures: a small network keeps every
    // supernode it has; only a large idle one shrinks.
    default: 8,
    help: 'an underloaded network never demotes below this many supernodes',
    check: (v: number) => (Number.isInteger(v) && v >= 2 ? null : 'must be an integer >= 2'),
  },
  {
    key: 'maxSupernodesPerPrefix',
    flag: 'max-supernodes-per-prefix',
    type: 'number',
    default: MAX_SUPERNODES_PER_PREFIX,
    help: 'supernodes that may own hashes per address prefix (/24, /48, domain); raise it for relays sharing one machine',
    check: (v: number) => (Number.isInteger(v) && v >= 1 ? null : 'must be an integer >= 1'),
  },
  {
    key: 'admissionProbation',
    flag: 'admission-probation',
    type: 'number',
    // Ten minutes: a relay an operator starts joins within one, and a batch of records
    // pushed by a stranger owns nothing until its servers have answered that long.
    default: 600,
    help: 'seconds a volunteer supernode must be known and reachable before it is admitted',
    check: (v: number) => (Number.isInteger(v) && v >= 0 ? null : 'must be an integer >= 0'),
  },
  {
    key: 'rotationInterval',
    flag: 'rotation-interval',
    type: 'number',
    default: 86_400,
    help: 'seconds a supernode serves before swapping with a rested candidate (0: never)',
    check: (v: number) => (Number.isInteger(v) && v >= 0 ? null : 'must be a whole number >= 0'),
  },
  {
    key: 'maxListingsPerPublisher',
    flag: 'max-listings-per-publisher',
    type: 'number',
    default: MAX_LISTINGS_PER_PUBLISHER,
    help: 'most listings stored for one publisher key',
    check: positive,
  },
  {
    key: 'publishRatePerPublisher',
    flag: 'publish-rate-per-publisher',
    type: 'number',
    default: PUBLISHER_PUBLISHES_PER_MINUTE,
    help: 'new or updated listings stored per minute for one publisher key',
    check: positive,
  },
  {
    key: 'publishRatePerAddress',
    flag: 'publish-rate-per-address',
    type: 'number',
    default: ADDRESS_PUBLISHES_PER_MINUTE,
    help: 'listings accepted per minute from one client address',
    check: positive,
  },
  {
    key: 'newPublishersPerAddress',
    flag: 'new-publishers-per-address',
    type: 'number',
    default: NEW_PUBLISHERS_PER_ADDRESS_PER_HOUR,
    help: 'publisher keys new to this relay accepted per hour from one client address',
    check: positive,
  },
  {
    key: 'maxCatalogBytes',
    flag: 'max-catalog-bytes',
    type: 'number',
    default: MAX_CATALOG_BYTES,
    help: 'bytes of listings stored in all; when full new ones are refused, none evicted',
    check: positive,
  },
  {
    key: 'peerPullRate',
    flag: 'peer-pull-rate',
    type: 'number',
    default: PEER_PULL_LISTINGS_PER_MINUTE,
    help: 'listings pulled per minute from one --peer relay (and 1,400 bytes a minute each)',
    check: positive,
  },
  {
    key: 'dnsZones',
    flag: 'dns-zone',
    type: 'strings',
    default: [],
    help: 'DNS zone to answer for over DoH at /dns-query, and --dns-port (repeatable)',
    check: (v: string[]) => {
      if (v.length > MAX_BOOTSTRAP_SOURCES) return `at most ${MAX_BOOTSTRAP_SOURCES} zones`
      const bad = v.find((zone) => !isDnsName(zone))
      return bad === undefined ? null : `${bad} is not a DNS name`
    },
  },
  {
    key: 'dnsPort',
    flag: 'dns-port',
    type: 'number',
    default: undefined,
    help: 'also serve the zones over UDP and TCP on this port (0: a free one; default: off)',
    check: (v: number) => (Number.isInteger(v) && v >= 0 && v <= 65535 ? null : 'must be 0-65535'),
  },
  {
    key: 'dnsTtl',
    flag: 'dns-ttl',
    type: 'number',
    default: 60,
    help: 'seconds DNS answers may be cached (TTL of every record)',
    check: positive,
  },
  {
    key: 'dnsNameServers',
    flag: 'dns-ns',
    type: 'strings',
    default: [],
    help: "the zones' NS names, default the --public-url host (repeatable)",
    check: (v: string[]) => {
      const bad = v.find((name) => !isDnsName(name))
      return bad === undefined ? null : `${bad} is not a DNS name`
    },
  },
  {
    key: 'dnsRate',
    flag: 'dns-rate',
    type: 'number',
    default: DNS_UDP_QUERIES_PER_SECOND,
    help: 'UDP DNS queries per second answered for one address (against amplification)',
    check: positive,
  },
  {
    key: 'dohEndpoints',
    flag: 'doh-endpoint',
    type: 'strings',
    default: [],
    help: 'DoH resolver URL to look the --dns-zone zones up through when bootstrapping (repeatable)',
    check: (v: string[]) => checkUrls(v, 'DoH endpoints'),
  },
  {
    key: 'bootstrapUrls',
    flag: 'bootstrap-url',
    type: 'strings',
    default: [],
    help: 'URL of a bootstrap list (JSON, as /.well-known/monsoon.json serves) (repeatable)',
    check: (v: string[]) => checkUrls(v, 'bootstrap lists'),
  },
  {
    key: 'bridge',
    flag: 'bridge',
    type: 'boolean',
    default: false,
    help: 'also run a bridge to classic BitTorrent (TCP/uTP peers) for browsers, both ways',
  },
  {
    key: 'bridgeMaxTorrents',
    flag: 'bridge-max-torrents',
    type: 'number',
    // Each bridged torrent costs peer connections (WebTorrent's default of 55) and buffers.
    default: 20,
    help: 'most torrents bridged at once (least recently used evicted)',
    check: positive,
  },
  {
    key: 'bridgeTorrentsPerAddress',
    flag: 'bridge-torrents-per-address',
    type: 'number',
    default: BRIDGE_TORRENTS_PER_ADDRESS,
    help: 'most bridged torrents one client address may hold by asking (POST /v1/bridge)',
    check: positive,
  },
  {
    key: 'bridgeMaxDisk',
    flag: 'bridge-max-disk',
    type: 'number',
    default: 10 * 1024 ** 3,
    help: "bytes of bridged torrents' data stored at once under DATA_DIR/bridge",
    check: positive,
  },
  {
    key: 'bridgeMaxMemory',
    flag: 'bridge-max-memory',
    type: 'number',
    default: 1024 ** 3,
    help: 'resident memory of the relay above which the bridge evicts idle torrents and takes none',
    check: positive,
  },
  {
    key: 'bridgeMaxRate',
    flag: 'bridge-max-rate',
    type: 'number',
    default: 0,
    help: 'bytes/s the bridge may download, and as many upload, over all torrents (0: no limit)',
    check: (v: number) => (Number.isInteger(v) && v >= 0 ? null : 'must be a whole number >= 0'),
  },
  {
    key: 'bridgePort',
    flag: 'bridge-port',
    type: 'number',
    default: 0,
    help: "TCP and uTP port of the bridge's classic peer (0: a free one)",
    check: (v: number) => (Number.isInteger(v) && v >= 0 && v <= 65535 ? null : 'must be 0-65535'),
  },
  {
    key: 'bridgeDht',
    flag: 'bridge-dht',
    type: 'boolean',
    default: false,
    help: 'the bridge also finds classic peers and metadata through the public DHT (BEP 5)',
  },
  {
    key: 'bridgeLsd',
    flag: 'bridge-lsd',
    type: 'boolean',
    default: false,
    help: 'the bridge also finds classic peers on the LAN by local service discovery (BEP 14)',
  },
]

function isDnsName(name: string): boolean {
  const bare = name.replace(/\.$/, '')
  return (
    bare.length > 0 &&
    bare.length <= 253 &&
    bare.split('.').every((label) => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/.test(label))
  )
}

/** `MIN-MAX` as numbers, or null when it is not a usable range of unprivileged ports. */
export function parsePortRange(text: string): { min: number; max: number } | null {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text.trim())
  if (!m) return null
  const min = Number(m[1])
  const max = Number(m[2])
  return min >= 1024 && max <= 65535 && min <= max ? { min, max } : null
}

function checkUrls(v: string[], what: string): string | null {
  if (v.length > MAX_BOOTSTRAP_SOURCES) return `at most ${MAX_BOOTSTRAP_SOURCES} ${what}`
  const bad = v.find((url) => !/^https?:\/\/[^/\s]+(\/\S*)?$/.test(url))
  return bad === undefined ? null : `${bad} must be an http(s) URL`
}

function isOrigin(url: string): boolean {
  try {
    canonicalUrl(url)
    return true
  } catch {
    return false
  }
}

function share(v: number): string | null {
  return v > 0 && v <= 1 ? null : 'must be a fraction in (0, 1]'
}

function positive(v: number): string | null {
  return Number.isInteger(v) && v > 0 ? null : 'must be a positive integer'
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export interface ParsedCommandLine {
  help: boolean
  config: RelayConfig
}

/** Reads argv, then the environment, then a config file, onto the defaults. */
export function parseCommandLine(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): ParsedCommandLine {
  const options: Record<
    string,
    { type: 'string' | 'boolean'; short?: string; multiple?: boolean }
  > = {
    help: { type: 'boolean', short: 'h' },
    config: { type: 'string' },
  }
  for (const spec of OPTIONS) {
    options[spec.flag] = {
      type: spec.type === 'boolean' ? 'boolean' : 'string',
      multiple: spec.type === 'strings',
    }
    // A switch that is on by default is turned off with --no-FLAG.
    if (spec.type === 'boolean' && spec.default === true) {
      options[`no-${spec.flag}`] = { type: 'boolean' }
    }
  }
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\nRun with --help to see the options.`)
  }
  if (values.help) return { help: true, config: resolveConfig({}) }

  const raw: Record<string, unknown> = {}
  const file = (values.config as string | undefined) ?? env.MONSOON_CONFIG
  if (file) Object.assign(raw, readConfigFile(file))
  for (const spec of OPTIONS) {
    const fromEnv = env[envName(spec.flag)]
    if (fromEnv !== undefined) raw[spec.key] = fromEnv
    const fromFlag = values[spec.flag]
    if (fromFlag !== undefined) raw[spec.key] = fromFlag
    if (values[`no-${spec.flag}`] === true) raw[spec.key] = false
  }
  return { help: false, config: resolveConfig(raw) }
}

/** Checks and converts raw values (strings from flags/env, JSON from a file) into a config. */
export function resolveConfig(raw: Record<string, unknown>): RelayConfig {
  const known = new Set<string>(OPTIONS.map((o) => o.key))
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) throw new ConfigError(`unknown option "${key}"`)
  }
  const out: Record<string, unknown> = {}
  for (const spec of OPTIONS) {
    const value = raw[spec.key] === undefined ? spec.default : convert(spec, raw[spec.key])
    if (value !== undefined && spec.check) {
      const problem = spec.check(value as never)
      if (problem) throw new ConfigError(`--${spec.flag} ${String(value)}: ${problem}`)
    }
    out[spec.key] = value
  }
  const config = out as unknown as RelayConfig
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError('--tls-cert and --tls-key go together: give both, or neither')
  }
  if (config.tlsSelfSigned && config.tlsCert !== undefined) {
    throw new ConfigError('--tls-self-signed makes its own certificate: drop --tls-cert/--tls-key')
  }
  if (config.acmeDomains.length && (config.tlsCert !== undefined || config.tlsSelfSigned)) {
    throw new ConfigError(
      '--acme-domain gets its own certificate: drop --tls-cert/--tls-key and --tls-self-signed',
    )
  }
  const tls = config.tlsCert !== undefined || config.tlsSelfSigned || config.acmeDomains.length > 0
  const scheme = tls ? 'https' : 'http'
  config.publicUrl = (config.publicUrl ?? `${scheme}://localhost:${config.port}`).replace(/\/$/, '')
  config.peers = [...new Set(config.peers.map((url) => url.replace(/\/$/, '')))]
  if (config.lowWatermark >= config.highWatermark) {
    throw new ConfigError('--low-watermark must be below --high-watermark')
  }
  if (!config.turn && !config.stun && config.stunPort !== undefined) {
    throw new ConfigError('--stun-port moves STUN and TURN: drop it with --no-stun --no-turn')
  }
  if (config.dnsPort !== undefined && !config.dnsZones.length) {
    throw new ConfigError('--dns-port needs a zone to answer for: give --dns-zone too')
  }
  if (config.dohEndpoints.length && !config.dnsZones.length) {
    throw new ConfigError('--doh-endpoint needs a zone to look up: give --dns-zone too')
  }
  return config
}

function convert(spec: OptionSpec, value: unknown): unknown {
  if (spec.type === 'number') {
    const n = typeof value === 'number' ? value : String(value).trim() ? Number(value) : NaN
    if (Number.isNaN(n)) throw new ConfigError(`--${spec.flag} ${String(value)}: not a number`)
    return n
  }
  if (spec.type === 'boolean') {
    if (typeof value === 'boolean') return value
    if (value === 'true' || value === '1') return true
    if (value === 'false' || value === '0') return false
    throw new ConfigError(`--${spec.flag} ${String(value)}: must be true or false`)
  }
  if (spec.type === 'strings') {
    const items = typeof value === 'string' ? [value] : value
    if (!Array.isArray(items) || items.some((v) => typeof v !== 'string')) {
      throw new ConfigError(`--${spec.flag}: must be a list of strings`)
    }
    return (items as string[]).flatMap((v) => v.split(',').map((s) => s.trim())).filter(Boolean)
  }
  if (typeof value !== 'string') throw new ConfigError(`--${spec.flag}: must be a string`)
  return value
}

function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`)
  }
  return parsed as Record<string, unknown>
}

function envName(flag: string): string {
  return `MONSOON_${flag.toUpperCase().replace(/-/g, '_')}`
}

export function helpText(): string {
  const lines = [
    'Usage: monsoon-relay [options]   (or: npm start -- [options])',
    '',
    'Runs a Monsoon relay: serves the app, a BitTorrent HTTP tracker (/announce, /scrape)',
    'and a WebTorrent WebSocket tracker, all on one port.',
    '',
    'Options (each also as env MONSOON_<NAME>, or as camelCase key in --config FILE):',
  ]
  const rows = OPTIONS.map((o) => {
    const arg = o.type === 'boolean' ? '' : o.type === 'number' ? ' N' : ' VALUE'
    const noDefault = o.default === undefined || (Array.isArray(o.default) && !o.default.length)
    const def = noDefault ? '' : ` (default: ${String(o.default)})`
    const negation = o.type === 'boolean' && o.default === true ? `, --no-${o.flag}` : ''
    return [`  --${o.flag}${arg}${negation}`, `${o.help}${def}`]
  })
  rows.push(['  --config FILE', 'read options from a JSON file'])
  rows.push(['  -h, --help', 'show this help'])
  const width = Math.max(...rows.map((r) => r[0].length)) + 2
  for (const [left, right] of rows) lines.push(left.padEnd(width) + right)
  return lines.join('\n')
}
