// Helpers for the catalog's integration tests: talking to real relay processes (started
// with relay-process.ts) over HTTP, and waiting on outcomes with a deadline.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Listing } from '../../shared/listing.ts'
import { FastSigner, sampleDraft } from '../catalog/test-support.ts'

export interface Answer {
  status: number
  body: Record<string, unknown>
}

export async function postJson(url: string, body: unknown, headers = {}): Promise<Answer> {
  const res = await fetch(`${url}/v1/listings`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

export async function getJson(url: string): Promise<Answer> {
  const res = await fetch(url)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** Every listing a relay serves, pulled page by page from cursor 0. */
export async function allListings(url: string): Promise<Listing[]> {
  const out: Listing[] = []
  let after = 0
  for (;;) {
    const { body } = await getJson(`${url}/v1/listings?after=${after}&limit=1000`)
    out.push(...(body.listings as Listing[]))
    after = body.next as number
    if (!body.more) return out
  }
}

/** Polls `check` until it returns something truthy; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  // Generous: a deadline is a hang detector, not a timing assertion (a loaded CI machine).
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} (${String(last)})`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A port that was free a moment ago, for relays that must know each other's URL at start. */
export { freePort } from './ports.ts'

const dirs: string[] = []

/** A data directory that outlives relay restarts; removed by `removeTempDirs`. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'monsoon-catalog-'))
  dirs.push(dir)
  return dir
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
}

/** `count` listings from `signer`, numbered from `from` (distinct hashes per salt). */
export function listingsOf(signer: FastSigner, from: number, count: number, salt = 0): Listing[] {
  const ts = Math.floor(Date.now() / 1000)
  return Array.from({ length: count }, (_, i) =>
    signer.listing(sampleDraft(from + i, salt), { seq: 1, ts }),
  )
}

/** Reads a stopped relay's catalog database directly. */
export function peerCursors(dataDir: string): { peer: string; cursor: number; fetched: number }[] {
  const db = new Database(join(dataDir, 'catalog.sqlite'), { readonly: true })
  try {
    return db.prepare('SELECT peer, cursor, fetched FROM peer_cursors').all() as {
      peer: string
      cursor: number
      fetched: number
    }[]
  } finally {
    db.close()
  }
}

export function logsWith(logs: Record<string, unknown>[], msg: string): Record<string, unknown>[] {
  return logs.filter((l) => l.msg === msg)
}
