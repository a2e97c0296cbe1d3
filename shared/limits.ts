// Limits every node enforces on signed records, identically, so a record accepted by one
// node is accepted by all. Each bounds what one publisher can make others store or show.

/** Listing name, in characters after sanitising: longer than any sane title, short enough
 * for one table row. */
export const MAX_NAME_CHARS = 256
/** Listing description, in characters. */
export const MAX_DESCRIPTION_CHARS = 2000
/** Files named in a listing (the torrent itself can hold more; `files` gives the count). */
export const MAX_LISTED_FILES = 100
/** One listed file path, in characters. */
export const MAX_PATH_CHARS = 512
/** A whole signed listing, canonical bencode bytes: caps what one record costs to store
 * and to send in a sync page. */
export const MAX_LISTING_BYTES = 32 * 1024
/** How far in the future a record's `ts` may be (seconds): covers clock drift between nodes
 * without letting a record claim to be news for days. */
export const MAX_CLOCK_SKEW_SECONDS = 600
/** Largest size or count we accept: 2^53 - 1, what a JS number holds exactly. */
export const MAX_SAFE_SIZE = Number.MAX_SAFE_INTEGER

// The supernode record (supernode.ts).

/** Public URLs in one supernode record: HTTPS and HTTP, IPv4 and IPv6 names fit. */
export const MAX_SUPERNODE_URLS = 4
/** One URL in a supernode record, in characters (an origin: scheme, host, port). */
export const MAX_SUPERNODE_URL_CHARS = 256
/** A whole signed supernode record, canonical bencode bytes; four maximum-length URLs and
 * every figure at 2^53 come to about 1.3 KiB. */
export const MAX_SUPERNODE_RECORD_BYTES = 2048
/** A supernode record older than this (seconds) is refused: a live relay re-signs its
 * record every few seconds when asked, so an older one may describe a relay that is gone,
 * and replaying it must not bring that relay back into anyone's set. */
export const MAX_SUPERNODE_RECORD_AGE_SECONDS = 3600
