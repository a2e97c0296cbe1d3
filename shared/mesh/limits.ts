// Limits of the browser mesh (issue 22; ARCHITECTURE.md, "the browser mesh"): what one
// neighbour can make a browser hold or do, and how often a browser speaks. Each bounds memory or
// work a remote peer can cost us; the message sizes are messages.ts's (MAX_MESH_MESSAGE_BYTES,
// MAX_MESH_PEER_IDS, MAX_SIGNAL_HOPS, MAX_PAGE_RECORDS).

const SECOND = 1000
const MINUTE = 60 * SECOND

/** Mesh wires (one per remote browser per shared swarm) held at once; more are closed. A page
 * with a dozen torrents of 20 WebRTC peers each stays under it. */
export const MAX_MESH_NEIGHBOURS = 256

/** How often we send a neighbour the added and dropped peers of its swarm: ut_pex's minute. */
export const PEX_INTERVAL_MS = MINUTE
/** PEX messages a neighbour may send per wire: the one on open and one a minute after, with
 * room for a wire that reopened and clocks that drift; past it the neighbour floods. */
export const PEX_BURST = 3
export const PEX_EVERY_MS = 50 * SECOND

/** Signals forwarded from one neighbour to one peer id: an introduction is one offer and one
 * answer, and glare or a retry a few more. Past it they are dropped. */
export const FORWARDS_PER_SECOND_PER_PAIR = 2
export const FORWARD_BURST_PER_PAIR = 6
/** Signals forwarded in total: carrying others' introductions stays a small part of the page's
 * work however many neighbours ask. Past it they are dropped. */
export const FORWARDS_PER_SECOND = 20
export const FORWARD_BURST = 40
/** (neighbour, peer id) forward budgets remembered, least recently used dropped first. */
export const MAX_FORWARD_PAIRS = 1024
/** Signals for a peer id we are not connected to that one neighbour may send per minute: it
 * may have just left; more is a neighbour probing or lying. */
export const UNKNOWN_PEERS_PER_MINUTE = 6

/** Peer ids named in one lookup answer besides ourselves (the asker offers to each). */
export const ANSWERS_PER_LOOKUP = 20
/** Lookups of one neighbour we answer: a burst of that many, then that many a minute (a page
 * asks about each torrent that wants peers once a round). Past it the neighbour is hostile:
 * issue 22's "lookups for a thousand hashes". */
export const LOOKUPS_ANSWERED_PER_MINUTE = 120
export const LOOKUPS_ANSWERED_BURST = 200
/** How often we ask our neighbours about each torrent that wants peers. */
export const LOOKUP_INTERVAL_MS = 30 * SECOND
/** Lookups we send a minute (each to every neighbour): half of what a neighbour answers, so
 * our own asking never makes us hostile in its eyes. */
export const LOOKUPS_SENT_PER_MINUTE = 60
/** An answer later than this is dropped. */
export const LOOKUP_TIMEOUT_MS = 30 * SECOND
/** Lookups (per neighbour asked) awaiting an answer. */
export const MAX_PENDING_LOOKUPS = 4096
/** Neighbours one lookup round asks on an answer's referral to a peer, besides those it asked
 * first: a neighbour that joined after the round began may have the hash. Each is asked once
 * a round and a referred answer's referral is not followed (one hop), so referrals that point
 * at each other end; a few, so hostile answers cannot fan one round out. */
export const REFERRALS_FOLLOWED_PER_LOOKUP = 4
/** Relays that neighbours' answers refer one torrent to, handed to its re-homing each window
 * (app/lib/rehome.ts decides whether it announces there): a hash has two owners (shared/
 * rendezvous.ts R = 2), so two honest referrals name them; more would be a neighbour sending
 * the torrent's announces (a WebSocket each) wherever it likes. */
export const MAX_REFERRED_RELAYS_PER_TORRENT = 2
/** A torrent's referred relays are counted afresh after this: a referral from when the swarm's
 * relays were down must not keep a later, better one out for the page's life. */
export const REFERRED_RELAYS_WINDOW_MS = 10 * MINUTE
/** Torrents whose referred relays are counted, oldest dropped first (only hashes we asked
 * about are counted: at most the page's own torrents). */
export const MAX_REFERRED_TORRENTS = 1024

/** Pages of records we serve one neighbour a minute; past it its pulls go unanswered (its
 * pull times out and it tries again a round later), so a flood costs no worker time. */
export const PAGES_SERVED_PER_MINUTE = 30
export const PAGES_SERVED_BURST = 30
/** How often we pull each kind of record from each neighbour (again at once while `more`): a
 * listing published with every relay down crosses a hop in 15 s on average; an empty answer
 * costs the neighbour one indexed read, two a minute per kind, well inside its budget. */
export const CATALOG_PULL_INTERVAL_MS = 30 * SECOND
/** A pull unanswered this long is given up and made again next round. */
export const PULL_TIMEOUT_MS = 20 * SECOND

/** Messages of any kind one neighbour (all its wires) may send: far above what the budgets
 * above let an honest browser send; past it the neighbour floods and is banned. */
export const MESSAGES_PER_SECOND_PER_NEIGHBOUR = 50
export const MESSAGES_BURST_PER_NEIGHBOUR = 500

/** Introductions (our offers awaiting an answer, offers we are answering) at once: each is an
 * RTCPeerConnection, which a browser holds only a few hundred of. */
export const MAX_PENDING_INTRODUCTIONS = 32
/** An introduction unanswered this long is destroyed (an offer's ICE gathering takes seconds). */
export const INTRODUCTION_TIMEOUT_MS = 30 * SECOND
/** Peers learnt from PEX and lookups, over all swarms, oldest dropped first. */
export const MAX_MESH_CANDIDATES = 2048
/** A candidate is forgotten this long after it was last named. */
export const CANDIDATE_TTL_MS = 10 * MINUTE
/** A candidate we offered to and did not keep is tried again only after this. */
export const CANDIDATE_RETRY_MS = 2 * MINUTE
/** Connected peers remembered as found through the mesh (the torrent view's "found"). */
export const MAX_MESH_FOUND = 4096
/** A connection the mesh made counts as "found through the mesh" only if its wire opens within
 * this long (the introduction's deadline, then as long again for ICE and the handshakes on a
 * busy machine): a wire of that peer opening later came another way (a relay tracker). */
export const FOUND_WIRE_WITHIN_MS = 2 * INTRODUCTION_TIMEOUT_MS

/** Peers banned for what they sent, newest kept; a ban lasts BAN_MS (peer ids are free to
 * mint, so remembering them for long buys little). */
export const MAX_BANNED_PEERS = 1024
export const BAN_MS = 60 * MINUTE
/** Bans listed in the mesh's stats, newest first. */
export const MAX_BANS_SHOWN = 50
