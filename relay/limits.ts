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
