// Ports for processes a test starts and must name up front (a relay's --peer, pebble, a
// classic client's listen port). A port found free by binding port 0 and closing lies in the
// kernel's ephemeral range, from which every outgoing connection also takes its source port:
// with test files running side by side, one of their connections could take it before the
// process binds it (pebble failed so: "address already in use"). These come from below that
// range instead, checked free by binding them.

import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** The lowest port drawn: above the well-known and most registered services' ports. */
const LOWEST = 10_000
/** Draws before falling back to an ephemeral port (all taken: never on a test machine). */
const DRAWS = 64

/** The bottom of the kernel's ephemeral range (Linux), or 0 where it cannot be read. */
function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
    return Number.isInteger(low) && low > LOWEST + 1000 ? low : 0
  } catch {
    return 0
  }
}
const CEILING = ephemeralLow()

/** Whether `port` on `host` can be bound now (it is closed again at once). */
async function bindable(port: number, host: string): Promise<boolean> {
  const server = createServer()
  server.listen({ port, host, exclusive: true })
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([e]) => Promise.reject(e)),
    ])
  } catch {
    return false
  }
  server.close()
  await once(server, 'close')
  return true
}

/** A TCP port on `host` that was free a moment ago and that no outgoing connection takes. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let draw = 0; CEILING > 0 && draw < DRAWS; draw++) {
    const port = LOWEST + Math.floor(Math.random() * (CEILING - LOWEST))
    if (await bindable(port, host)) return port
  }
  const server = createServer()
  server.listen(0, host)
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}
