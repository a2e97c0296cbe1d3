// A verified listing as the catalog store keeps it (store.ts): the columns it is keyed and
// ordered by, and its JSON. Made where the listing was verified (a verify worker, or inline)
// so the thread that writes SQLite only writes.
//
// The JSON is written by hand in the one key order verifyListing's copy has (what
// JSON.stringify of that copy gives, byte for byte: listing-row.test.ts checks it against
// that), so a listing checked in place (checkListing: the peer's own key order) needs no
// copy and no generic stringify: on a pulled page those were ~10 µs a listing, a quarter of
// a verify worker's time. Every field is one checkListing has checked: hex and numbers go
// in as they are, text through JSON.stringify.

import type { Listing } from '../../shared/listing.ts'

export interface ListingRow {
  publisher: string
  infoHash: string
  seq: number
  ts: number
  /** The listing's JSON, as stored and served. */
  json: string
  /** UTF-8 bytes of `json`: what the byte caps count. */
  bytes: number
}

/** The row of a listing already checked (verifyListing or checkListing). */
export function listingRow(listing: Listing): ListingRow {
  const json = listingJson(listing)
  return {
    publisher: listing.publisher,
    infoHash: listing.infoHash,
    seq: listing.seq,
    ts: listing.ts,
    json,
    bytes: Buffer.byteLength(json),
  }
}

/** A checked listing's JSON in verifyListing's key order. Numbers are safe integers and ids
 * lowercase hex (checkListing refuses anything else), so neither needs escaping. */
export function listingJson(l: Listing): string {
  let files = ''
  for (const f of l.fileList) {
    files += `${files === '' ? '' : ','}{"path":${JSON.stringify(f.path)},"size":${f.size}}`
  }
  let json =
    `{"v":${l.v},"infoHash":"${l.infoHash}","name":${JSON.stringify(l.name)},` +
    `"size":${l.size},"files":${l.files},"category":"${l.category}",` +
    `"description":${JSON.stringify(l.description)},"fileList":[${files}],` +
    `"publisher":"${l.publisher}","seq":${l.seq},"ts":${l.ts},`
  const b = l.batch
  if (b) {
    json += `"batch":{"root":"${b.root}","n":${b.n},"i":${b.i},"proof":[`
    for (let k = 0; k < b.proof.length; k++) json += `${k === 0 ? '' : ','}"${b.proof[k]}"`
    json += ']},'
  }
  return `${json}"sig":"${l.sig}"}`
}

/** Rows as columns, one array a field: how a verify worker sends a page's rows to the thread
 * that stores them. A structured clone writes and reads every object's keys one by one, so
 * 1,000 row objects took the receiving thread (the one that writes SQLite) ~3.5 µs a row,
 * and six arrays of plain values ~1.5. */
export interface RowColumns {
  publisher: string[]
  infoHash: string[]
  seq: number[]
  ts: number[]
  json: string[]
  bytes: number[]
}

export function rowColumns(rows: readonly ListingRow[]): RowColumns {
  const columns: RowColumns = { publisher: [], infoHash: [], seq: [], ts: [], json: [], bytes: [] }
  for (const r of rows) {
    columns.publisher.push(r.publisher)
    columns.infoHash.push(r.infoHash)
    columns.seq.push(r.seq)
    columns.ts.push(r.ts)
    columns.json.push(r.json)
    columns.bytes.push(r.bytes)
  }
  return columns
}

/** The rows of rowColumns' columns (from our own worker: not checked again). */
export function columnRows(c: RowColumns): ListingRow[] {
  return c.json.map((json, i) => ({
    publisher: c.publisher[i],
    infoHash: c.infoHash[i],
    seq: c.seq[i],
    ts: c.ts[i],
    json,
    bytes: c.bytes[i],
  }))
}
