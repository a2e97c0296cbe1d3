// The UDP socket of one allocation (RFC 8656 §7.2): bound on a random port of the configured
// range, tried TURN_RELAY_PORT_TRIES times before the Allocate gets 508. EVEN-PORT (§14.6)
// asks for an even port; a range of 0-0 lets the system choose (tests).

import { randomInt } from 'node:crypto'
import type dgram from 'node:dgram'
import { TURN_RELAY_PORT_TRIES } from '../limits.ts'
import { createUdpSocket } from './udp-socket.ts'

export async function bindRelaySocket(
  host: string,
  ports: { min: number; max: number },
  even: boolean,
): Promise<dgram.Socket | null> {
  const { min, max } = ports
  for (let i = 0; i < TURN_RELAY_PORT_TRIES; i++) {
    let port = max === 0 ? 0 : min + randomInt(max - min + 1)
    if (even && port % 2) port = port + 1 <= max ? port + 1 : port - 1
    if (even && port !== 0 && (port < min || port % 2)) return null // no even port in range
    const socket = createUdpSocket('udp4')
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false))
      socket.bind({ port, address: host, exclusive: true }, () => resolve(true))
    })
    if (bound && !(even && socket.address().port % 2)) {
      socket.removeAllListeners('error')
      return socket
    }
    try {
      socket.close()
    } catch {
      // Never bound: nothing to close.
    }
  }
  return null
}
