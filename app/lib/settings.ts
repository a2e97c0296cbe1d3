// The user's settings (Settings page): rate limits, the connection cap and the relays to use,
// as typed values with a default for each, and the checks that turn what was typed into
// them. Stored as JSON in localStorage: a stored value that fails its check falls back to
// its default, unknown keys are dropped, so an old or tampered copy never breaks the start.

import { relayOrigin } from '../catalog/relay-client.ts'

export interface Settings {
  /** Bytes per second all downloads share; null for no limit. */
  downloadLimit: number | null
  /** Bytes per second all uploads share; null for no limit. */
  uploadLimit: number | null
  /** Peer connections per torrent (WebTorrent's `maxConns`). */
  maxConns: number
  /** Relays the user added: catalogs to read and trackers to announce to, beside the ones
   * the network names. Origins (`https://host:port`). */
  relays: string[]
}

/** WebTorrent's own default connection cap. */
export const DEFAULT_MAX_CONNS = 55
/** More connections than this only cost memory and CPU in a tab. */
export const MAX_CONNS = 500
/** The highest rate limit, in KiB/s (about 1 GiB/s): anything above is no limit at all. */
export const MAX_RATE_KIB = 1_048_576
/** The catalog syncs from at most 16 relays (app/workers/catalog.worker.ts MAX_RELAYS),
 * the origin and the ones the network names among them. */
export const MAX_USER_RELAYS = 8
/** Where the settings are kept. */
export const STORAGE_KEY = 'monsoon.settings'

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  downloadLimit: null,
  uploadLimit: null,
  maxConns: DEFAULT_MAX_CONNS,
  relays: [],
})

/** What is wrong with a typed value, said so the user can fix it. */
export class SettingsError extends Error {
  override name = 'SettingsError'
}

/** A rate typed in KiB/s: empty means no limit; otherwise a whole number from 1. Bytes/s. */
export function parseRate(text: string): number | null {
  const t = text.trim()
  if (t === '') return null
  if (!/^\d+$/.test(t)) {
    throw new SettingsError('Enter a whole number of KiB/s, or leave it empty for no limit.')
  }
  const kib = Number(t)
  if (kib < 1 || kib > MAX_RATE_KIB) {
    throw new SettingsError(`Enter a rate from 1 to ${MAX_RATE_KIB} KiB/s, or leave it empty.`)
  }
  return kib * 1024
}

/** The connection cap as typed: a whole number from 1 to MAX_CONNS. */
export function parseMaxConns(text: string): number {
  const t = text.trim()
  if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > MAX_CONNS) {
    throw new SettingsError(`Enter a whole number of connections from 1 to ${MAX_CONNS}.`)
  }
  return Number(t)
}

/**
 * A relay's address as typed, as the origin the app uses. A tracker URL (`wss://host/`) is
 * taken as the relay at the same host. Throws for anything else, and for a relay the list
 * already holds or a full list.
 */
export function parseRelayUrl(text: string, existing: readonly string[] = []): string {
  let t = text.trim()
  if (t === '') throw new SettingsError('Enter the relay’s address, like https://relay.example.')
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) {
    throw new SettingsError('Start the address with https:// (or http:// on a local network).')
  }
  t = t.replace(/^ws(s?):\/\//i, 'http$1://')
  let url: URL
  try {
    url = new URL(t)
  } catch {
    throw new SettingsError('That is not a valid address.')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SettingsError('A relay is reached over https:// (or http://), not ' + url.protocol)
  }
  const origin = relayOrigin(`${url.protocol}//${url.host}/`)
  if (!origin || url.username || url.password || url.search || url.hash) {
    throw new SettingsError('Give the relay’s address alone: no user name, query or fragment.')
  }
  if (url.pathname !== '/' && url.pathname !== '/announce') {
    throw new SettingsError('Give the relay’s address alone, without a path.')
  }
  if (existing.includes(origin)) throw new SettingsError('That relay is already in the list.')
  if (existing.length >= MAX_USER_RELAYS) {
    throw new SettingsError(`At most ${MAX_USER_RELAYS} relays can be added; remove one first.`)
  }
  return origin
}

/** Settings from whatever was stored: each field checked, a bad one set to its default. */
export function parseStoredSettings(value: unknown): Settings {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>
  const rate = (x: unknown): number | null =>
    Number.isSafeInteger(x) && (x as number) >= 1024 && (x as number) <= MAX_RATE_KIB * 1024
      ? (x as number)
      : null
  const relays: string[] = []
  if (Array.isArray(v.relays)) {
    for (const r of v.relays) {
      const origin = relayOrigin(r)
      if (origin && !relays.includes(origin) && relays.length < MAX_USER_RELAYS) {
        relays.push(origin)
      }
    }
  }
  return {
    downloadLimit: rate(v.downloadLimit),
    uploadLimit: rate(v.uploadLimit),
    maxConns:
      Number.isSafeInteger(v.maxConns) &&
      (v.maxConns as number) >= 1 &&
      (v.maxConns as number) <= MAX_CONNS
        ? (v.maxConns as number)
        : DEFAULT_MAX_CONNS,
    relays,
  }
}

type Store = Pick<Storage, 'getItem' | 'setItem'>

export function loadSettings(storage: Store | null): Settings {
  try {
    const text = storage?.getItem(STORAGE_KEY)
    return parseStoredSettings(text ? JSON.parse(text) : null)
  } catch {
    return parseStoredSettings(null)
  }
}

/** Stores the settings; throws SettingsError when the browser refuses (full or disabled). */
export function saveSettings(storage: Store | null, settings: Settings): void {
  if (!storage) throw new SettingsError('This browser does not keep settings (no localStorage).')
  try {
    storage.setItem(STORAGE_KEY, JSON.stringify(settings))
  } catch (err) {
    throw new SettingsError(`The browser did not save the settings: ${(err as Error).message}`)
  }
}

/** A rate for display: "no limit" or KiB/s as typed in the form. */
export function rateText(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? '' : String(Math.round(bytesPerSecond / 1024))
}
