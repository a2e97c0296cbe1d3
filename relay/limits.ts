// Hard limits on what the relay accepts from the network. Each one bounds memory or CPU a
// single client can cost us; tracker answers stay small enough for one TCP segment or two.

/** Peers returned by default when a client sends no `numwant` (BEP 3 suggests 50). */
export const DEFAULT_NUMWANT = 50
/** Upper clamp for `numwant`; opentracker uses the same 200. */
export const MAX_NUMWANT = 200
/** A request line longer than this is refused before it is parsed (a real announce is < 600 B). */
export const MAX_TRACKER_URL_BYTES = 8192
/** Info hashes answered in one scrape; the rest are ignored (a 10,000-hash scrape costs no more). */
export const MAX_SCRAPE_HASHES = 100
/** Largest WebSocket message accepted; ws closes the socket with 1009 above it. 10 offers of
 * 4 KiB SDP fit comfortably. */
export const MAX_WS_MESSAGE_BYTES = 128 * 1024
/** Largest single SDP blob (offer or answer) relayed; real ones are 0.5–4 KiB. */
export const MAX_SDP_BYTES = 16 * 1024
/** Offers accepted in one announce; stock WebTorrent sends at most 10. */
export const MAX_OFFERS = 20
/** Torrents a WebSocket may take part in at once (one stock client uses one socket for all). */
export const MAX_SWARMS_PER_SOCKET = 1000
/** A peer socket whose send buffer exceeds this is skipped when forwarding offers and answers,
 * so a slow reader cannot make us queue without bound. */
export const MAX_WS_BUFFERED_BYTES = 1024 * 1024
/** Messages per WebSocket per second before the relay starts dropping them. */
export const MAX_WS_MESSAGES_PER_SECOND = 50

// The catalog (signed listings, relay/catalog/). Defaults for the options of the same name
// in config.ts where an operator may want another figure.

/** Listings one publisher key may have stored here: a prolific uploader shares hundreds or
 * a few thousand torrents; a key minting more is spam, and it is capped on every relay. */
export const MAX_LISTINGS_PER_PUBLISHER = 10_000
/** New or updated listings one publisher may get stored per minute (token bucket, bursts up
 * to a minute's worth): sharing a whole library at once fits, a flood does not. Charged
 * only for listings that would be stored, so replaying someone's records cannot use it up. */
export const PUBLISHER_PUBLISHES_PER_MINUTE = 600
/** Listings one client address may submit per minute, charged before the signature is
 * checked, so it bounds the CPU one address can make us spend verifying (~9,000/s). Peer
 * relays pushing to us count too; what a push loses, pulling catches up. */
export const ADDRESS_PUBLISHES_PER_MINUTE = 1200
/** Rate buckets (addresses, publishers) kept in memory, least recently used dropped first. A
 * dropped bucket starts full again, which only helps someone with 100,000 addresses. */
export const MAX_RATE_BUCKETS = 100_000
/** POST /v1/listings body, checked before it is parsed: 200 typical listings (~1 KiB) with
 * room, or 50 of the largest (MAX_LISTING_BYTES as JSON). */
export const MAX_LISTINGS_POST_BYTES = 2 * 1024 * 1024
/** Listings in one POST. */
export const MAX_LISTINGS_PER_POST = 200
/** Listings in a sync page when the client asks for no `limit`. */
export const DEFAULT_PAGE_LISTINGS = 500
/** Largest `limit` honoured: 1,000 listings is ~1 MiB, a page a browser parses in a blink. */
export const MAX_PAGE_LISTINGS = 1000
/** A sync page stops growing past this many bytes of listings (at least one is sent), so a
 * page of maximum-size listings stays bounded; pullers refuse bodies much larger. */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024
/** Publishers' listings returned for one info hash (newest first): one hash listed by a
 * million keys must not make one answer huge. */
export const MAX_LISTINGS_PER_HASH = 100
/** Parsed Ed25519 public keys (OpenSSL KeyObjects) cached for verification. */
export const MAX_CACHED_PUBLIC_KEYS = 10_000
/** Relays given with --peer; each costs a puller and a poll every few seconds. */
export const MAX_PEERS = 64
/** A request to a peer relay (one page pulled or one batch pushed) is abandoned after this. */
export const PEER_REQUEST_TIMEOUT_MS = 15_000
/** Longest wait between attempts to reach a failing peer (backoff doubles up to it). */
export const PEER_MAX_BACKOFF_MS = 5 * 60_000
/** Peers each new listing is pushed to: news reaches N relays in about log3(N) rounds. */
export const PUSH_FANOUT = 3
/** Listings waiting to be pushed; beyond it new ones are not pushed (pulling still spreads
 * them), so a slow peer cannot make the queue grow without bound. */
export const MAX_PUSH_QUEUE = 10_000
/** Listings per push request (well under MAX_LISTINGS_PER_POST, in case peers differ). */
export const PUSH_BATCH = 100
/** Tries of one push a peer refused for quota (429), after the Retry-After it gives. */
export const MAX_PUSH_ATTEMPTS = 5
/** Bytes of listings held for such retries; beyond it a refused push is dropped. */
export const MAX_PUSH_RETRY_BYTES = 8 * 1024 * 1024
/** Longest Retry-After honoured before a retry (a peer cannot park our listings for hours). */
export const MAX_PUSH_RETRY_DELAY_MS = 60_000
/** How long a writer waits on a locked SQLite database before failing. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000
/** ICE servers handed to browsers: each one is tried during every WebRTC connection setup. */
export const MAX_ICE_SERVERS = 8

// The supernode directory and exchange (relay/supernode/). Records are small (≤ 2 KiB,
// shared/limits.ts), so these bound memory and the work one source can cause.

/** Supernode records kept (own one aside): ~2 MiB of records at most, and a
 * RendezvousSet scan of 2,048 ids costs a few µs per lookup. A network larger than this
 * needs paged exchange (not built yet). */
export const MAX_KNOWN_SUPERNODES = 2048
/** New node ids one source (a pushing address, or a relay we pull from) may bring in: a
 * peer relaying a whole network of a few hundred supernodes fits; one address minting keys
 * cannot fill the directory on its own. */
export const MAX_SUPERNODES_PER_SOURCE = 512
/** POST /v1/supernodes body, checked before parsing: 32 records of at most ~2.5 KiB as JSON. */
export const MAX_SUPERNODES_POST_BYTES = 96 * 1024
/** Records in one POST /v1/supernodes. */
export const MAX_SUPERNODES_PER_POST = 32
/** Records one address may push per minute, charged before signatures are checked: a peer
 * pushes its own record every poll, so this leaves room for dozens of relays behind one NAT. */
export const SUPERNODE_PUSHES_PER_MINUTE = 240
/** A pulled GET /v1/supernodes answer larger than this is refused (MAX_KNOWN_SUPERNODES
 * records of the largest size as JSON come to ~5 MiB). */
export const MAX_SUPERNODES_ANSWER_BYTES = 6 * 1024 * 1024
/** A pulled GET /v1/hello answer (one record, ~1.3 KiB at most as JSON), or the answer to
 * a push of our record; anything larger is not what we asked for. */
export const MAX_HELLO_ANSWER_BYTES = 8 * 1024
/** Relays pulled per exchange round (the --peer relays first, then learned supernodes at
 * random): bounds the requests one round makes; a large network is covered over rounds. */
export const MAX_EXCHANGE_TARGETS = 16
/** A pull or push to another relay during the exchange is abandoned after this. */
export const SUPERNODE_REQUEST_TIMEOUT_MS = 5_000
/** Failed pulls in a row after which a supernode leaves the owner set (failover). One miss
 * is a dropped packet or a restart; three, spaced by backoff (about 7 poll intervals), is a
 * dead or unreachable node, and its hashes move to the next owners until it answers. */
export const MAX_MISSED_CONTACTS = 3
/** Total time a leaving relay spends pushing its demoted record (best effort): well inside
 * the 5 s a stop waits before exiting anyway (main.ts). */
export const LEAVE_PUSH_BUDGET_MS = 3_000
/** Supernodes a leaving relay tells at once; the rest learn the demotion by pulls. */
export const MAX_LEAVE_PUSHES = 64
/** Relay URLs kept in the host cache: far more relays than a bootstrap needs, at ~200 bytes
 * an entry under 1 MiB, and GET /v1/hosts stays one small answer. */
export const MAX_HOSTS = 4096
/** Host-cache entries one source (an address, a relay pulled from) may hold: more than the
 * supernodes one honest peer names in a few rounds, few enough that one source flooding
 * addresses only churns its own slots. */
export const MAX_HOSTS_PER_SOURCE = 256

// DNS (relay/dns/): the zone answered over DoH, UDP and TCP. Every figure bounds what one
// query can cost us or what one small query can make us send (amplification).

/** Largest DNS query read, from any transport: a real query is under 300 bytes (one name of
 * at most 255 bytes, one OPT record); anything longer is refused before it is decoded. */
export const MAX_DNS_QUERY_BYTES = 512
/** UDP answer size when the query carries no EDNS0 record (RFC 1035 §4.2.1). */
export const DNS_UDP_DEFAULT_BYTES = 512
/** Largest UDP answer, whatever EDNS0 size a client asks for: the DNS flag day 2020 figure,
 * which fits one unfragmented packet on nearly every path. Larger answers get TC and the
 * client retries over TCP, where no amplification is possible. */
export const DNS_UDP_MAX_BYTES = 1232
/** Answers kept per zone snapshot (answer-cache.ts), keyed by the query's bytes: the zone
 * has a few dozen names, so real traffic needs a handful; odd queries beyond this empty it. */
export const MAX_DNS_CACHED_ANSWERS = 1024
/** Supernodes named in one answer (TXT, A/AAAA, SRV): ~40 URLs fill a TCP or DoH answer of a
 * few KiB; a client needs a handful to bootstrap. */
export const MAX_DNS_ANSWER_RECORDS = 40
/** UDP queries per second one address may make (token bucket, bursts of DNS_UDP_BURST). A
 * resolver behind many users stays far below; a reflection attack is cut to a trickle. */
export const DNS_UDP_QUERIES_PER_SECOND = 100
/** Burst of the UDP token bucket. */
export const DNS_UDP_BURST = 200
/** Addresses with a UDP token bucket kept at once (least recently used dropped first). */
export const MAX_DNS_RATE_BUCKETS = 100_000
/** TCP connections open at once on the DNS port; more are closed at accept. */
export const MAX_DNS_TCP_CONNECTIONS = 256
/** Bytes buffered for one TCP connection (two framed queries); more closes it. */
export const MAX_DNS_TCP_BUFFER_BYTES = 2 * (MAX_DNS_QUERY_BYTES + 2)
/** A TCP connection idle this long is closed (RFC 7766 §6.2.3 suggests seconds). */
export const DNS_TCP_IDLE_MS = 10_000
/** Queries answered on one TCP connection before it is closed (RFC 7766 allows many). */
export const MAX_DNS_TCP_QUERIES = 100

// Bootstrap (relay/bootstrap/): finding other relays from a DNS zone or a published list.

/** A bootstrap round runs while the relay knows fewer live supernodes than this. */
export const BOOTSTRAP_MIN_SUPERNODES = 3
/** Time between bootstrap rounds while the relay knows too few supernodes. */
export const BOOTSTRAP_INTERVAL_MS = 10_000
/** Longest wait between bootstrap rounds that find nobody new (the wait doubles up to it). */
export const BOOTSTRAP_MAX_INTERVAL_MS = 5 * 60_000
/** A DoH answer larger than this is refused (MAX_DNS_ANSWER_RECORDS URLs fit in ~12 KiB). */
export const MAX_DOH_ANSWER_BYTES = 64 * 1024
/** A bootstrap list (JSON) larger than this is refused. */
export const MAX_BOOTSTRAP_LIST_BYTES = 256 * 1024
/** URLs taken from one DNS answer or one list per round. */
export const MAX_BOOTSTRAP_URLS = 64
/** Relays contacted (hello + push) per bootstrap round. */
export const MAX_BOOTSTRAP_CONTACTS = 16
/** A DoH lookup, list fetch or join request is abandoned after this. */
export const BOOTSTRAP_REQUEST_TIMEOUT_MS = 5_000
/** Zones, DoH endpoints and bootstrap list URLs configured at most (each costs requests). */
export const MAX_BOOTSTRAP_SOURCES = 16

// Relay-to-relay messages (relay/supernode/node-message.ts): promotions, swarm handoffs and
// proxied announces.

/** A signed message's clock window each way: a message older (or newer) is refused, so a
 * nonce need only be remembered this long. */
export const MESSAGE_WINDOW_SECONDS = 60
/** Nonces remembered within the window. Promotions and handoffs are rare (a few a minute per
 * relay); proxied announces keep none (a replayed announce repeats what its peer said). */
export const MAX_REPLAY_NONCES = 100_000
/** A signed message's JSON body: a handoff batch of MAX_HANDOFF_SWARMS swarms, each with up
 * to MAX_HANDOFF_PEERS peers of ~80 bytes as JSON, fits well inside. */
export const MAX_NODE_MESSAGE_BYTES = 4 * 1024 * 1024
/** POST /v1/handoff and /v1/promote bodies, checked before parsing (the body, JSON-escaped,
 * plus the envelope). */
export const MAX_NODE_MESSAGE_POST_BYTES = 5 * 1024 * 1024
/** Swarms per handoff message; a relay with more sends several. */
export const MAX_HANDOFF_SWARMS = 500
/** Classic peers handed off per swarm (the most recently seen): what two announce answers
 * give out; a swarm larger than this refills from its peers' own announces. */
export const MAX_HANDOFF_PEERS = 400
/** A proxied announce or scrape to an owner is abandoned after this, and the next owner (or
 * this relay itself) answers. */
export const PROXY_TIMEOUT_MS = 3_000
/** A proxied tracker answer larger than this is refused (200 peers6 entries are ~4 KiB). */
export const MAX_PROXY_ANSWER_BYTES = 64 * 1024
/** Announces copied to a hash's other owner at once (replication); more are dropped and
 * counted, as the peer's next announce carries them again. */
export const MAX_REPLICAS_IN_FLIGHT = 256

// Sealed messages over plain HTTP (relay/sealed/, shared/sealed/).

/** A sealed request (POST /v1/sealed): it carries any API request, so the largest API body
 * (a handoff, MAX_NODE_MESSAGE_POST_BYTES) fits, with room for the envelope and head. */
export const MAX_SEALED_REQUEST_BYTES = MAX_NODE_MESSAGE_POST_BYTES + 64 * 1024
/** Session keys kept by sender (LRU): one X25519 per new sender, then a map look-up. Far
 * more than the relays and browsers that talk to one relay within a few minutes. */
export const MAX_SEALED_SESSIONS = 10_000
/** New sealed sessions (one X25519 each, ~0.1-0.2 ms in OpenSSL here) per second: a few
 * hundred browsers opening the app at once, and a flood of fresh keys costs at most a
 * fraction of a core. Senders already known are never refused for this. */
export const NEW_SEALED_SESSIONS_PER_SECOND = 200
/** Node ids learned from plain-HTTP relays' GET /health (by origin), least recent dropped. */
export const MAX_SEALED_PEER_IDS = 4096
/** GET /health answer read to learn a relay's id: a few hundred bytes. */
export const MAX_HEALTH_ANSWER_BYTES = 4096

// The bridge to classic BitTorrent (relay/bridge/). Defaults for --bridge-* options live in
// config.ts; these bound what one request can make the bridge do.

/** POST /v1/bridge/:infohash body (a .torrent file or a magnet link): the largest real
 * .torrent files (tens of thousands of pieces) are a few MiB; 4 MiB with room. */
export const MAX_BRIDGE_POST_BYTES = 4 * 1024 * 1024
/** Trackers taken from a posted magnet or .torrent, beside the owners' own. */
export const MAX_BRIDGE_BODY_TRACKERS = 8
/** A bridged torrent used (asked for, or moving bytes) within this long is never evicted for
 * another: eviction takes only torrents nobody has used for a minute, so two users cannot
 * evict each other's transfer back and forth. */
export const BRIDGE_MIN_IDLE_MS = 60_000
/** How often the bridge reads its torrents' traffic (to mark them used) and checks memory. */
export const BRIDGE_CHECK_INTERVAL_MS = 5_000
/** A hash the bridge could not take automatically (full) is not tried again for this long. */
export const BRIDGE_AUTO_RETRY_MS = 5 * 60_000
/** Hashes remembered as refused for automatic bridging (least recent dropped first). */
export const MAX_BRIDGE_REFUSALS = 10_000

// TURN (relay/turn/): the STUN/TURN server (RFC 8489, RFC 8656) on the relay's port. Each
// figure bounds what one client address can cost us or what a small request can make us send.

/** Largest STUN message or ChannelData frame read from a client, and largest datagram relayed
 * from a peer: WebRTC keeps packets near 1,200 bytes (libwebrtc's SCTP and RTP sizes) plus
 * 36 bytes of TURN headers; anything above 4 KiB is not a browser's and is dropped. */
export const MAX_TURN_MESSAGE_BYTES = 4096
/** Attributes decoded in one STUN message: a real TURN request carries fewer than 12, so
 * 10,000 tiny attributes cost one counter check, not 10,000 objects. */
export const MAX_STUN_ATTRIBUTES = 64
/** USERNAME longer than this is refused (RFC 8489 §14.3: less than 513 bytes). */
export const MAX_STUN_USERNAME_BYTES = 512
/** Allocation lifetime when the client asks for none or less (RFC 8656 §3.2 default). */
export const TURN_DEFAULT_LIFETIME_SECONDS = 600
/** Longest allocation lifetime granted (RFC 8656 §7.2 suggests 3600 s); the credential's own
 * hour bounds it too. */
export const TURN_MAX_LIFETIME_SECONDS = 3600
/** Permission lifetime, fixed by RFC 8656 §9. */
export const TURN_PERMISSION_LIFETIME_SECONDS = 300
/** Channel binding lifetime, fixed by RFC 8656 §12. */
export const TURN_CHANNEL_LIFETIME_SECONDS = 600
/** Allocations one client address may hold: a browser makes one per peer connection per TURN
 * server, so a busy tab with a hundred peers fits, and one address cannot take all ports. */
export const MAX_TURN_ALLOCATIONS_PER_ADDRESS = 128
/** Peer addresses permitted on one allocation: a WebRTC connection permits the remote
 * candidates (a handful of addresses); more is a scan. Beyond it: 508. */
export const MAX_TURN_PERMISSIONS_PER_ALLOCATION = 64
/** Channels bound on one allocation: one per remote candidate pair in use, like permissions. */
export const MAX_TURN_CHANNELS_PER_ALLOCATION = 64
/** Random ports tried in the relay range before an Allocate gets 508: with the range half full
 * the chance that 16 tries all miss is 1 in 65,536. */
export const TURN_RELAY_PORT_TRIES = 16
/** Unauthenticated or failed requests (Binding, 401, 438, 4xx before auth) answered per second
 * per source address (token bucket): a tab opening dozens of peer connections at once uses
 * a burst; a spoofed source used for reflection gets at most this trickle of ~100-byte answers. */
export const TURN_UNAUTH_REQUESTS_PER_SECOND = 20
/** Burst of that bucket: a page opening 100 connections, each with one 401 round trip. */
export const TURN_UNAUTH_BURST = 200
/** Source addresses with such a bucket kept at once (least recently used dropped first). */
export const MAX_TURN_RATE_BUCKETS = 100_000
/** A NONCE is valid this long (stateless, HMAC-signed); older ones get 438 Stale Nonce and a
 * fresh one (RFC 8489 §9.2.4). Ten minutes spans an allocation's first refreshes. */
export const TURN_NONCE_LIFETIME_SECONDS = 600
/** Longest validity of a TURN REST credential: one hour (what the relay mints). A username
 * claiming to expire later was not minted by us. */
export const TURN_CREDENTIAL_MAX_TTL_SECONDS = 3600
/** Clock difference tolerated between the minting relay and this one. */
export const TURN_CREDENTIAL_CLOCK_SLACK_SECONDS = 60
/** Share of --turn-max-bandwidth one client address (its /64 for IPv6) may use: one home, or
 * one source with many allocations, cannot take the whole relay; two can relay at full
 * share at once. A relay that is idle otherwise still gives one user half its bandwidth. */
export const TURN_ADDRESS_BANDWIDTH_SHARE = 0.5
/** Bytes queued for a TCP/TLS client before relayed packets for it are dropped: a slow reader
 * loses packets (as UDP would) instead of growing memory. */
export const MAX_TURN_STREAM_WRITE_BUFFER_BYTES = 256 * 1024
/** Receive and send buffer asked for on the TURN UDP port and on each allocation's relay
 * socket. Linux's default (net.core.rmem_default, 208 KiB: ~90 relayed 1,200-byte packets)
 * fills in under 10 ms at 10,000 packets/s whenever the relay's one thread is descheduled on a
 * busy machine, and every packet dropped there costs the WebRTC sender a congestion-window
 * cut. The kernel caps it at net.core.rmem_max / wmem_max (208 KiB on a stock system: raise
 * them, e.g. to 4 MiB, for this to take effect); it is memory only while packets wait. With
 * rmem_max at 4 MiB, the turn benchmark's drops went from ~700-1,200 per 256 MiB to 0. */
export const TURN_UDP_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
/** A TCP/TLS connection without an allocation is closed after this long idle. */
export const TURN_STREAM_IDLE_MS = 30_000
/** How often expired allocations, permissions and channels are freed. */
export const TURN_SWEEP_INTERVAL_MS = 5_000
/** A warning about one source hitting a budget is logged at most this often. */
export const TURN_WARN_INTERVAL_MS = 60_000
/** Sources remembered for that (least recently warned dropped first). */
export const MAX_TURN_WARNED_SOURCES = 1024

// Signalled peers (relay/tracker/signalled-peers.ts): the addresses a browser learned from
// the offers and answers this relay's WebSocket tracker forwarded to it. The TURN server
// creates permissions (RFC 8656 §9) only towards those, so a TURN allocation cannot be
// pointed at an arbitrary host.

/** How long a signalled address may be given a permission: an ICE check list runs within a
 * minute of the offer, and TURN permissions last 300 s (RFC 8656 §9); twice that leaves room
 * for a slow answer and a first refresh. */
export const SIGNALLED_PEER_TTL_MS = 10 * 60_000
/** Distinct addresses taken from one SDP: a browser's offer names a host, a server-reflexive
 * and a relayed candidate per interface and address family (under ten in practice); an SDP
 * with 10,000 candidate lines adds no more than this. */
export const MAX_SIGNALLED_IPS_PER_SDP = 16
/** Addresses kept per recipient address (least recently signalled dropped first): a browser
 * in a few swarms hears from dozens of peers of ~3 addresses each, and several browsers may
 * share one NAT address. */
export const MAX_SIGNALLED_PEERS_PER_RECIPIENT = 256
/** (recipient, peer) pairs kept in all, ~100 bytes each, so ~20 MiB at worst; beyond it the
 * recipient signalled least recently is dropped whole. Thousands of browsers fit. */
export const MAX_SIGNALLED_PAIRS = 200_000

// The one port (relay/transport/one-port.ts): each connection's first bytes say whether it is
// TLS, TURN or HTTP; reading them must cost an idle or hostile connection little.

/** A connection silent this long before it says what it is (or finishes its TLS handshake)
 * is closed: real clients speak at once, and an idle socket costs a file descriptor. */
export const SNIFF_TIMEOUT_MS = 10_000
/** Bytes read for a ClientHello when ACME may need its ALPN and SNI: one TLS record. */
export const MAX_HELLO_BYTES = 5 + 16_384
