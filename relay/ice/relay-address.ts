// The IPv4 address a TURN allocation's relayed address names (XOR-RELAYED-ADDRESS, RFC 8656
// §7.3): the address peers send to, so it must be the relay's public one, not the wildcard
// it listens on. Taken, in order, from the --public-url host when it is an IPv4 literal,
// from the --host address when that is one (and not the wildcard), from the public host's
// DNS A record, and last (or for the default `localhost`) from the machine's first
// non-internal IPv4 interface.

import { lookup } from 'node:dns/promises'
import { isIPv4 } from 'node:net'
import { networkInterfaces } from 'node:os'

/** How long the public host's A record may take before we fall back (start-up waits on it). */
const LOOKUP_TIMEOUT_MS = 3000

export async function resolveRelayAddress(publicUrl: string, listenHost: string): Promise<string> {
  const host = new URL(publicUrl).hostname.replace(/^\[|\]$/g, '')
  if (isIPv4(host)) return host
  if (isIPv4(listenHost) && listenHost !== '0.0.0.0') return listenHost
  // The default public URL on a wildcard address: a relay started with no flags, maybe on a
  // public host, whose peers reach it at its interface address.
  if (host === 'localhost') return firstInterfaceAddress() ?? '127.0.0.1'
  try {
    const found = await Promise.race([
      lookup(host, { family: 4 }),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('timeout')), LOOKUP_TIMEOUT_MS).unref(),
      ),
    ])
    if (isIPv4(found.address)) return found.address
  } catch {
    // Fall through to the interfaces.
  }
  return firstInterfaceAddress() ?? '127.0.0.1'
}

/** The UDP bind address of relay sockets: relayed traffic leaves from the listen address,
 * or any IPv4 address when the relay listens on a wildcard (IPv6 relaying is not built). */
export function relayBindHost(listenHost: string): string {
  return isIPv4(listenHost) ? listenHost : '0.0.0.0'
}

function firstInterfaceAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.family === 'IPv4' && !info.internal) return info.address
    }
  }
  return undefined
}
