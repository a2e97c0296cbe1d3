// Hard limits on what the relay accepts from the network. Each one bounds memory or CPU a
// single client can cost us; tracker answers stay small enough for one TCP segment or two.

/** Peers returned by default when a client sends no `numwant` (BEP 3 suggests 50). */
export const DEFAULT_NUMWANT = 50
/** Upper clamp for `numwant`; opentracker uses the same 200. */
export const MAX_NUMWANT = 200
/** A request line longer than this is refused before it is parsed (a real announce is < 600 B). */
export const MAX_TRACKER_URL_BYTES = 8192
/** A tracker request's head the one-port fast path reads itself (tracker/http-wire.ts); a
 * longer one goes to node's parser (16 KiB). A classic client's announce head is < 1 KiB. */
export const MAX_FAST_HEAD_BYTES = 4096
/** Header fields the fast path reads; more go to node's parser. Classic clients send 3-6. */
export const MAX_FAST_HEADERS = 32
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
// Serving sync pages (relay/catalog/page-cache.ts, issue 23): a thousand browsers syncing
// from scratch ask for the same pages, so a page is queried and compressed once and then
// served from memory; building one is the costly part, and what one source may ask of it is
// bounded.

/** Bytes of built pages kept (their JSON and each compressed form asked for; least recently
 * served dropped first): a page of 1,000 listings is ~620 KB as JSON plus ~120 KB in br and
 * ~145 KB in gzip, so ~75 pages, the pages a crowd syncing in step is spread over. */
export const PAGE_CACHE_BYTES = 64 * 1024 * 1024
/** Pages kept whatever their size: empty and tiny pages cost a few hundred bytes each. */
export const MAX_PAGE_CACHE_ENTRIES = 4096
/** A built page is served this long at most, then built again: the swarm figures and the
 * `latest` it carries are at most this old (the app refreshes the rows on screen from
 * /v1/stats anyway, and peers announce every few minutes). */
export const PAGE_SNAPSHOT_MAX_AGE_MS = 60_000
/** Answers smaller than this go uncompressed: a header's worth of saving is not worth a
 * compression. */
export const PAGE_COMPRESS_MIN_BYTES = 1024
/** Brotli quality of a page (RFC 7932): measured on a page of 1,000 listings, 4 gave 116 KB
 * in ~7 ms where gzip -6 gave 144 KB in ~8 ms, and 5 and above cost 2-8 times the CPU for
 * no smaller page. */
export const PAGE_BROTLI_QUALITY = 4
/** Pages built (queried, and compressed on the thread pool) at once, over every client: on
 * two cores one build at a time leaves a core to the tracker's announces whatever the crowd
 * asks; others wait their turn, first come first served. */
export const PAGE_BUILDS_AT_ONCE = 1
/** Builds waiting for their turn, over every client; more get 503 with Retry-After. Each
 * waits as a request (its connection held), not as a page in memory: a page is queried
 * only when its turn comes. */
export const MAX_PAGE_BUILDS_WAITING = 512
/** Builds one address may have waiting or running: a browser pulls one page at a time and a
 * relay's puller one ahead, 3 leaves room for one more; a script asking for many distinct
 * pages at once gets 429 and holds at most this much of the builder's queue. */
export const PAGE_BUILDS_PER_ADDRESS_AT_ONCE = 3
/** Pages one address may make this relay build per minute (pages served from memory are
 * not counted): a relay pulling a million listings alone at 20,000+ a second (issue 23's
 * relay-to-relay goal) asks ~20 pages a second; a script cycling through distinct pages is
 * held to 50 builds a second, each waiting its turn behind everyone else's. */
export const PAGE_BUILDS_PER_ADDRESS_PER_MINUTE = 3000
/** A page build's turn (a query, or a compression on the thread pool: ~7 ms measured for a
 * page of 1,000, so ~50 ms at MAX_PAGE_BYTES) given up after this long, logged, and its slot
 * passed on, so no build that never ends can stop every page being served (issue 23: one
 * did). Work given up may run on: one more such per 10 s per turn at most, a page each. */
export const PAGE_BUILD_MAX_TURN_MS = 10_000
/** Retry-After of a page refused for a full builder queue: a queue of builds drains in a
 * few seconds. */
export const PAGE_BUSY_RETRY_AFTER_SECONDS = 2
/** Page answers written per turn of the event loop (turnstile.ts): a thousand browsers
 * waiting on one build resumed at once and wrote ~150 MB in one go, holding announces 2-5 s;
 * 16 pages of ~150 KB are a few milliseconds of copying, then the loop polls again. */
export const PAGE_ANSWERS_PER_TURN = 16
/** Connections the kernel holds completed for the relay to accept (listen(2) backlog; Linux
 * caps it at net.core.somaxconn, 4096 by default since 5.4): node's 511 overflowed when a
 * thousand browsers connected at once, and every SYN dropped then (announces' too) waits
 * 1, 3, 7 s… before the client tries again. */
export const LISTEN_BACKLOG = 4096

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
/** Kept connections to one owner for proxied announces (supernode/proxy-client.ts): enough
 * that one slow answer does not hold up all others, few enough that the owner's
 * per-connection costs stay small. */
export const PROXY_SOCKETS_PER_OWNER = 4
/** Proxied requests in flight on one such connection; more wait for a free one. */
export const MAX_PIPELINED_PER_SOCKET = 32
/** Proxied requests waiting for a connection to an owner, beyond which new ones fail at once:
 * what a stalled owner can make this relay hold (its clients' connections are budgeted too). */
export const MAX_PROXY_WAITING = 1024
/** Owners this relay keeps proxy connections to at once; the least recently used are closed. */
export const MAX_PROXY_OWNERS = 64
/** A proxied answer's head longer than this ends the connection: an owner's tracker answer
 * has a head of ~150 bytes; node's own client allows 16 KiB for any server. */
export const MAX_PROXY_HEAD_BYTES = 8 * 1024
/** Announces copied to a hash's other owner at once (replication); more are dropped and
 * counted, as the peer's next announce carries them again. */
export const MAX_REPLICAS_IN_FLIGHT = 256
/** Info hashes whose owners a relay remembers for the current owner set
 * (supernode/placement.ts): a tracker's busy hashes recur, and scoring them again cost ~5%
 * of a proxying relay's main thread. ~150 bytes each; cleared when full or the set changes. */
export const MAX_PLACEMENT_MEMO = 8192
/** Origins whose host-cache check a relay remembers (supernode/host-cache.ts): the check is
 * a pure function of the URL, asked per proxied announce; cleared when full. */
export const MAX_HOST_CHECK_MEMO = 1024

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
/** A classic client's announce of a hash nobody seeds is remembered this long: should a
 * browser start seeding it meanwhile, the bridge joins then, rather than leave the client
 * waiting out its announce interval (600 s by default) for an answer that has a seeder. */
export const BRIDGE_WAITING_MS = 10 * 60_000
/** Such announces remembered at once (oldest dropped first): one check a second each, so a
 * client announcing random hashes costs a bounded map, and at worst pushes out another
 * client's entry, which then waits its interval as before. */
export const MAX_BRIDGE_WAITING = 1_024

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

// Catalog budgets against one source (relay/catalog/): what one address, one publisher key
// or one peer relay can make the catalog store, and what a hostile peer's pages can cost.

/** New publisher keys (keys with nothing stored here yet) one address may bring in: a
 * token bucket of this many at once, refilled at this many per hour. A household or an
 * office behind one NAT publishing under new keys fits; a script minting 1,000 keys gets
 * 60 stored, each then held to its own publisher caps. */
export const NEW_PUBLISHERS_PER_ADDRESS_PER_HOUR = 60
/** Bytes of listings (stored JSON) one address, or one peer relay's pull, may get stored
 * per minute (burst: a minute's worth). ADDRESS_PUBLISHES_PER_MINUTE listings of a typical
 * ~1 KiB fit; floods of maximum-size (32 KiB) listings, which stored ~20 MB/min per
 * address, are held to ~128 a minute. */
export const CATALOG_BYTES_PER_ADDRESS_PER_MINUTE = 2 * 1024 * 1024
/** Bytes of listings stored for one publisher key: MAX_LISTINGS_PER_PUBLISHER typical
 * listings (~1 KiB) fit with room; the same count of maximum-size ones (320 MB) does not. */
export const MAX_PUBLISHER_BYTES = 16 * 1024 * 1024
/** Bytes of listings the catalog holds in all (--max-catalog-bytes): a million typical
 * listings, more than any public index we know of, in a disk and a page cache a small VPS
 * has. When full, new listings are refused (counted 'catalog-full'); nothing stored is
 * evicted, so a flood cannot push out what honest publishers have. */
export const MAX_CATALOG_BYTES = 1024 * 1024 * 1024
/** Listings pulled per minute from one peer relay (--peer-pull-rate; burst: a minute's
 * worth): a 100,000-listing catalog syncs in under 10 minutes, and a hostile --peer (which
 * had 30,000 listings stored in 25 s) is held to this. A page is stored whole and the debt
 * waited out before the next, so nothing pulled is skipped. */
export const PEER_PULL_LISTINGS_PER_MINUTE = 12_000
/** Bytes of listings stored from one peer relay per minute, per listing of its listing rate
 * (--peer-pull-rate × this; 16 MiB a minute by default): a typical listing stores 0.5-1 KiB,
 * so honest pulls run at the listing rate; maximum-size ones (32 KiB) at 1/23 of it. */
export const PEER_PULL_BYTES_PER_LISTING = 1400
/** A pulled page counts as a failure (the puller backs off and stops following `more`)
 * when more than this share of its listings fail verification: an honest relay serves only
 * what it verified, so a mostly forged page is a hostile or broken peer. */
export const MAX_PAGE_INVALID_SHARE = 0.5
/** Pages pulled from one peer relay ahead of the one being stored (shared/cursor-puller.ts):
 * the peer builds the next pages while ours are verified, and both verify workers have one.
 * What a peer can make us hold at once is this many pages more than the one in hand, each
 * under 2 × MAX_PAGE_BYTES of body and MAX_PEER_JSON_CONTAINERS parsed (~20 MB). */
export const PEER_PULL_PAGES_AHEAD = 2
/** Rows of verified pages from one peer relay held before they are committed together
 * (relay/catalog/staged-pages.ts): ~7 pages of typical listings, where a commit of 4-8
 * pages cost ~30 % less CPU a row than one a page; a peer's maximum-size pages make 2. */
export const PEER_PULL_COMMIT_BYTES = 8 * 1024 * 1024
/** Nesting accepted in JSON from a peer relay, checked before parsing: a catalog page nests
 * 4 deep (page, listings, listing, fileList entry), supernode and bootstrap answers less;
 * 8 MB of `[[[[…` took a relay to 2.2 GB. */
export const MAX_PEER_JSON_DEPTH = 16
/** Objects and arrays in one JSON answer from a peer: a full page (1,000 listings of up to
 * MAX_LISTED_FILES files, and its stats map) opens ~105,000; each costs V8 ~100 bytes, so
 * this bounds a parse at ~20 MB whatever the body holds. */
export const MAX_PEER_JSON_CONTAINERS = 200_000

// Fan-out, sealed sessions, DNS over TCP and the bridge per address (issue 20, engineer D).

/** An owner's figures for a hash are reused this long before it is asked again: the app
 * refreshes the rows on screen every few seconds at most, and peers announce every minutes,
 * so the figure shown is no staler; 200 asks for the same hashes become one request. */
export const FANOUT_CACHE_MS = 5_000
/** Hashes whose owner figures are cached: 100 index pages of 100 rows, ~150 bytes each, so
 * under 2 MiB; beyond it the oldest answer is dropped first. */
export const MAX_FANOUT_CACHE_ENTRIES = 10_000
/** Requests to other relays one ask (GET /v1/stats, a scrape) may start: owner requests are
 * batched, one per owner per round, so 100 hashes over a network of 8 supernodes need at
 * most 8, and a failed owner's hashes go to the next owner; beyond it figures are unknown. */
export const FANOUT_REQUESTS_PER_ASK = 16
/** Requests to other relays in flight for one client address: one app asks a relay once per
 * refresh; a script asking 200 times at once gets this many, and unknown figures beyond. */
export const FANOUT_REQUESTS_PER_ADDRESS = 16
/** Requests to other relays in flight for every client together: each holds a socket and a
 * few KiB; 64 keep a busy relay's figures fresh without letting asks multiply into
 * thousands of outgoing requests (200 asks made 14,116 before this cap). */
export const FANOUT_REQUESTS_IN_FLIGHT = 64
/** New sealed sessions (one X25519 each) one address may open per second: a browser opens
 * one per relay and per reload, a relay one per peer; a NAT of a few dozen users fits the
 * burst. One address sending junk is held to this, well under the relay's total. */
export const NEW_SEALED_SESSIONS_PER_ADDRESS_PER_SECOND = 10
/** Burst of that bucket: a page opening its sealed API session and tracker socket at once,
 * for a few tabs behind one address. */
export const NEW_SEALED_SESSIONS_PER_ADDRESS_BURST = 20
/** Addresses with a new-session bucket kept at once (least recently used dropped first). */
export const MAX_SEALED_SESSION_BUCKETS = 100_000
/** A DNS query over TCP must be complete this long after its first byte arrives: a real
 * client sends its whole query (under 300 bytes) in one segment; one dripping a byte every
 * few seconds (which the idle timeout never catches) is closed. */
export const DNS_TCP_QUERY_DEADLINE_MS = 5_000
/** Longest life of one DNS TCP connection, however busy: RFC 7766 §6.2.3 lets a server
 * close connections to share them out; MAX_DNS_TCP_QUERIES answers take well under this. */
export const DNS_TCP_MAX_LIFETIME_MS = 60_000
/** DNS TCP connections one address may hold open: a resolver pipelines queries on one or a
 * few (RFC 7766 §6.2.1); one address cannot take the 256 connections from everyone. */
export const MAX_DNS_TCP_CONNECTIONS_PER_ADDRESS = 8
/** Bridged torrents one address may hold by asking (--bridge-torrents-per-address): a user
 * bridges a few at a time; a quarter of the default 20 slots, so one address cannot take
 * them all, and four can still fill the bridge only with torrents they use. */
export const BRIDGE_TORRENTS_PER_ADDRESS = 5
/** How long POST /v1/bridge waits for a bridge still starting (loading WebTorrent takes a
 * second or two) before answering 503 with Retry-After: never a 500 for a relay that has
 * only just started. */
export const BRIDGE_START_WAIT_MS = 10_000

// The tracker's budgets per address (relay/tracker/, issue 20): an address is its /32 for
// IPv4 and its /64 for IPv6 (one subscriber's prefix, RFC 6177). Defaults of the options of
// the same name in config.ts.

/** Torrents one address may have created (been the first peer of) and still held here: a
 * seedbox first to announce thousands of its own torrents fits; one address alone fills a
 * tenth of --max-torrents' default (it filled all 100,000 in 7 s before this budget). */
export const MAX_TORRENTS_PER_ADDRESS = 10_000
/** Peer entries one address may hold over every swarm (one per torrent per client): the
 * same seedbox, twice over for a second client or a household behind one NAT; 2% of
 * --max-peers' default. */
export const MAX_PEERS_PER_ADDRESS = 20_000
/** WebSockets open at once from one address: a stock client uses one socket per tracker
 * for all its torrents, so this is a NAT household's tabs and apps many times over; 101
 * sockets from one address filled the tracker before this cap. */
export const MAX_WEBSOCKETS_PER_ADDRESS = 32
/** Offers forwarded to one WebSocket and not yet answered, remembered so that it may answer
 * only those (the oldest forgotten first): a browser answers within seconds, and a hundred
 * torrents' neighbours announcing every two minutes send it a few a second. ~60 bytes each. */
export const MAX_OFFERS_AWAITING_ANSWER = 256

// Supernode admission (shared/admission.ts, relay/supernode/directory.ts, election.ts).

/** Owning supernodes per address prefix (/24 IPv4, /48 IPv6, a host name's last two labels):
 * an operator runs one or two relays per network block; more from one block is one party
 * taking a larger share of the ranking than the diversity rule allows (BEP 42, S/Kademlia).
 * Relays on one machine (tests, a lab) raise it with --max-supernodes-per-prefix. */
export const MAX_SUPERNODES_PER_PREFIX = 2
/** Roots trusted at once: a network has one seed; a few allow networks that were joined. */
export const MAX_ROOTS = 8
/** Admissions kept per admitted id, from distinct signers: one suffices, a few keep the
 * chain when one signer's record is pruned. */
export const MAX_ADMISSIONS_PER_ID = 4
/** Admissions kept in all: every known supernode's, with room for dead ancestors. */
export const MAX_ADMISSIONS = 4 * MAX_KNOWN_SUPERNODES
/** Volunteers (records saying `role: supernode` that no one admitted yet) a supernode admits
 * per election tick while the network has fewer than --min-supernodes: a new network fills
 * in seconds, and an attacker with many addresses gains one seat per tick at most. */
export const ADMISSIONS_PER_TICK = 1

// Connections and HTTP memory (relay/transport/, issue 20): what one address can hold open
// on the port and make the relay buffer, bounded by construction. An address is its /32 for
// IPv4 and its /64 for IPv6, as for the tracker's budgets. Defaults of the options of the
// same name in config.ts.

/** Connections one address may hold open on the port (--max-connections-per-address): a
 * browser opens 6 per origin, a NAT household's tabs, apps and a WebSocket each a few dozen;
 * 4,296 half-sent requests from one address stopped /health before this cap. Loopback is not
 * exempt; behind --trust-proxy the proxy is capped only in total. */
export const MAX_CONNECTIONS_PER_ADDRESS = 256
/** Connections open at once in all (--max-connections): each costs a file descriptor and
 * 10-50 KiB (TLS the most), so 10,000 stays under ~500 MiB; a browser's tracker WebSocket is
 * one of them. More are closed at accept. */
export const MAX_CONNECTIONS = 10_000
/** Request headers must be in within this (node's headersTimeout; its 60 s default let a
 * slowloris hold a connection a minute): a real client sends them in one segment. */
export const HEADERS_TIMEOUT_MS = 10_000
/** A whole request, body included, must be in within this (node's requestTimeout, 300 s by
 * default): the largest body (MAX_REQUEST_BODY_BYTES) at 1 Mbit/s takes ~45 s. A body
 * dripped a byte at a time, never stalling long enough for --stall-timeout, ends here. */
export const REQUEST_TIMEOUT_MS = 120_000
/** How often node checks those two timeouts: its 30 s default lets one overrun that much. */
export const CONNECTIONS_CHECK_INTERVAL_MS = 1_000
/** A request body or a response that moves no byte for this long is dropped (--stall-timeout,
 * seconds): 408 for a body, the connection closed for a response. TCP on a lossy link
 * retransmits within 1+2+4+8 s; 15 s without a byte is a dead or hostile peer. */
export const STALL_TIMEOUT_SECONDS = 15
/** Largest request body read, whatever the route: the sealed cap, the largest any route takes.
 * A larger Content-Length gets 413 before a byte of the body is read. */
export const MAX_REQUEST_BODY_BYTES = MAX_SEALED_REQUEST_BYTES
/** Bytes of request bodies held (received, request not yet answered) over all connections
 * (--max-request-buffer): a dozen of the largest bodies at once, where 600 held sealed
 * bodies took 3.2 GB before. Bodies are counted as they arrive (their Content-Length up
 * front), and one that does not fit gets 503 with Retry-After. */
export const MAX_REQUEST_BUFFER_BYTES = 64 * 1024 * 1024
/** Bytes of large responses in flight (written, not yet taken by the kernel) over all
 * connections (--max-response-buffer): 300 slow readers of a 5.9 MB catalog page took RSS
 * from 218 MB to 1,975 MB before. A large answer that does not fit gets 503 with Retry-After. */
export const MAX_RESPONSE_BUFFER_BYTES = 64 * 1024 * 1024
/** Share of each of those buffers one address may hold: three of the largest bodies, or three
 * catalog pages pulled at once, for one user; one address alone cannot take them. */
export const BUFFER_ADDRESS_SHARE = 0.25
/** A response at least this large is counted in the response buffer and written in pieces of
 * this size, each after the last was taken by the kernel (backpressure, and progress a stall
 * check can see). Smaller answers (announces, /health) go to the kernel whole. */
export const LARGE_RESPONSE_BYTES = 64 * 1024
/** Retry-After of a 503 for a full buffer: in-flight answers finish or stall out by then. */
export const BUFFER_RETRY_AFTER_SECONDS = 5
/** How often in-flight responses are checked for progress. */
export const STALL_CHECK_INTERVAL_MS = 1_000

/** HTTP requests (and WebSocket upgrades) one address may make per second, sustained: a
 * browser syncing the catalog and polling stats makes a few, a seedbox announcing 10,000
 * torrents every 10 minutes about 17, a household behind one NAT a few times that. Past it:
 * 429 and the connection closed (relay/transport/request-rate.ts). */
export const REQUESTS_PER_ADDRESS_PER_SECOND = 100
/** Requests one address may make at once after a quiet spell: a page load with every asset,
 * a client re-announcing all its torrents at start. */
export const REQUEST_BURST_PER_ADDRESS = 1000
/** How long new connections from an address over its request rate are closed at accept,
 * before a byte is parsed: a flood pays per connection, not per request. */
export const REQUEST_PENALTY_MS = 1_000
