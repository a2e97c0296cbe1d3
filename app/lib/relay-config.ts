// What the origin relay tells the app before any WebRTC connection opens (GET /v1/config):
// the ICE servers its operator chose. There is no public default: WebTorrent's own
// (Google's and Twilio's STUN servers) would send every browser's addresses to third
// parties, so without a configured server browsers offer their own candidates only.

/** Stop waiting for the relay after this long and start without ICE servers. */
const CONFIG_TIMEOUT_MS = 2000
/** Most ICE servers taken from a relay (each one is tried for every connection). */
const MAX_ICE_SERVERS = 8

export interface RelayConfig {
  iceServers: RTCIceServer[]
}

let current: RelayConfig = { iceServers: [] }

export function relayConfig(): RelayConfig {
  return current
}

/** Reads the origin's config; on any failure (offline, an older relay) keeps the default. */
export async function loadRelayConfig(origin = location.origin): Promise<RelayConfig> {
  try {
    const res = await fetch(`${origin}/v1/config`, {
      signal: AbortSignal.timeout(CONFIG_TIMEOUT_MS),
    })
    if (res.ok) current = parseRelayConfig(await res.json())
  } catch {
    // Keep the default.
  }
  return current
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
