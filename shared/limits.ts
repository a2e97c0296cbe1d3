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
