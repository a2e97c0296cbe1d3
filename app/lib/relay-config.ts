// What the origin relay tells the app before any WebRTC connection opens (GET /v1/config):
// the ICE servers its operator chose. There is no public default: WebTorrent's own
// (Google's and Twilio's STUN servers) would send every browser's addresses to third
// parties, so without a configured server browsers offer their own candidates only.

/** Stop waiting for the relay after this long and start without ICE servers. */
const CONFIG_TIMEOUT_MS = 2000
/** Most ICE servers taken from a relay (each one is tried for every connection). */
const MAX_ICE_SERVERS = 8
/** The last answer read, kept for starts without the network (an installed app offline). */
const STORAGE_KEY = 'monsoon.relay-config'

export interface RelayConfig {
  iceServers: RTCIceServer[]
}

let current: RelayConfig = { iceServers: [] }

export function relayConfig(): RelayConfig {
  return current
}

/**
 * Reads the origin's config. Offline (or on any failure: an older relay, a timeout) it takes
 * the last answer kept in `storage`, else the default; it never waits past the timeout.
 */
export async function loadRelayConfig(
  origin = location.origin,
  storage: Pick<Storage, 'getItem' | 'setItem'> | null = globalThis.localStorage ?? null,
): Promise<RelayConfig> {
  try {
    if (globalThis.navigator?.onLine === false) throw new Error('offline')
    const res = await fetch(`${origin}/v1/config`, {
      signal: AbortSignal.timeout(CONFIG_TIMEOUT_MS),
    })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    const text = await res.text()
    current = parseRelayConfig(JSON.parse(text))
    storage?.setItem(STORAGE_KEY, JSON.stringify(current))
  } catch {
    current = stored(storage) ?? current
  }
  return current
}

function stored(storage: Pick<Storage, 'getItem'> | null): RelayConfig | null {
  try {
    const text = storage?.getItem(STORAGE_KEY)
    return text ? parseRelayConfig(JSON.parse(text)) : null
  } catch {
    return null
  }
}

export function parseRelayConfig(value: unknown): RelayConfig {
  const servers = (value as { iceServers?: unknown } | null)?.iceServers
  if (!Array.isArray(servers)) return { iceServers: [] }
  const iceServers = servers
    .filter(
      (s): s is { urls: string } =>
        typeof s === 'object' &&
        s !== null &&
        typeof s.urls === 'string' &&
        /^(stun|stuns|turn|turns):[^\s/]+$/.test(s.urls),
    )
    .slice(0, MAX_ICE_SERVERS)
    .map((s) => ({ urls: s.urls }))
  return { iceServers }
}
