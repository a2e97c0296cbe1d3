// Pages of records for the browser mesh's catalog and host exchange (issue 22; shared/mesh/
// messages.ts `pull`/`page`), whatever the kind: records numbered by this node in the order
// it stored them, handed out after a neighbour's cursor, bounded so the page message always
// fits; and the records a neighbour sent, read back as untrusted JSON. Pure.

import {
  MAX_MESH_MESSAGE_BYTES,
  MAX_PAGE_RECORD_BYTES,
  MAX_PAGE_RECORDS,
} from '../../shared/mesh/messages.ts'
import type { RecordPage } from '../lib/mesh/types.ts'

/** Bytes a page's records add up to at most: the whole `page` message must stay under
 * MAX_MESH_MESSAGE_BYTES, and its other keys take well under 1 KiB. */
export const MAX_PAGE_TEXT_BYTES = MAX_MESH_MESSAGE_BYTES - 1024
/** What bencode adds to each record: its length prefix ("8192:"). */
const RECORD_PREFIX_BYTES = 5

/** One record as this node numbered it. */
export interface NumberedRecord {
  cursor: number
  text: string
}

const utf8 = new TextEncoder()

/** Records to answer with for a neighbour's `limit`: a whole number up to MAX_PAGE_RECORDS. */
export function pageLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.min(MAX_PAGE_RECORDS, Math.floor(limit))) : 0
}

/**
 * The page after `after` from `rows` (numbered after it, in cursor order). `complete`: rows
 * holds every record after `after`, so running out of them means there is no more. A record
 * over MAX_PAGE_RECORD_BYTES is skipped (the cursor moves past it: no neighbour could take
 * it); the page ends early rather than pass MAX_PAGE_TEXT_BYTES.
 */
export function recordPage(
  rows: readonly NumberedRecord[],
  after: number,
  limit: number,
  complete: boolean,
): RecordPage {
  const most = pageLimit(limit)
  const records: string[] = []
  let next = after
  let bytes = 0
  for (const row of rows) {
    if (row.cursor <= next) continue
    if (records.length >= most) return { records, next, more: true }
    const size = utf8.encode(row.text).length
    if (size > MAX_PAGE_RECORD_BYTES) {
      next = row.cursor
      continue
    }
    if (bytes + size + RECORD_PREFIX_BYTES > MAX_PAGE_TEXT_BYTES) {
      return { records, next, more: true }
    }
    records.push(row.text)
    bytes += size + RECORD_PREFIX_BYTES
    next = row.cursor
  }
  return { records, next, more: !complete }
}

/** A neighbour's records as JSON values; `refused`: those past MAX_PAGE_RECORDS, over
 * MAX_PAGE_RECORD_BYTES, or not JSON (the codec refuses such pages already; this holds
 * for any caller). */
export function parseRecords(records: readonly string[]): { values: unknown[]; refused: number } {
  const values: unknown[] = []
  let refused = Math.max(0, records.length - MAX_PAGE_RECORDS)
  for (const text of records.slice(0, MAX_PAGE_RECORDS)) {
    if (typeof text !== 'string' || utf8.encode(text).length > MAX_PAGE_RECORD_BYTES) {
      refused++
      continue
    }
    try {
      values.push(JSON.parse(text))
    } catch {
      refused++
    }
  }
  return { values, refused }
}
