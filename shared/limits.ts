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
/** Listings in one signed batch (format v2, shared/listing-batch.ts). Each listing carries
 * an audit path of log2(n) hashes (67 bytes each as JSON hex) and costs that many SHA-256s
 * to check: at 256 a proof is at most 8 hashes (~540 bytes) and the one signature is
 * ~1 µs a listing, already under the hashing; 1,024 adds two hashes to every listing to
 * save a quarter of a microsecond. */
export const MAX_BATCH_LISTINGS = 256
/** Signatures checked good and remembered, so the 2nd..nth listing of a batch costs hashes
 * only: a sync page (1,000 listings) spans a few batches, and a few thousand entries of at
 * most ~0.5 KB each keep every batch of several pages in hand. */
export const MAX_REMEMBERED_SIGNATURES = 4096
/** Batches whose signature checked good, kept with the tree nodes seen so far, so a
 * listing of one costs its leaf hash and a node or two instead of a whole fold. A batch
 * holds at most 2 * MAX_BATCH_LISTINGS nodes (~70 KB as hex); 64 cover the batches of
 * several sync pages in flight for ~4 MB. */
export const MAX_VERIFIED_BATCHES = 64

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
