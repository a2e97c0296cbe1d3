// Our TURN server alone (createTurnServer, relay/turn/turn-server.ts) in a process of its
// own, for the turn benchmark when the relay does not serve TURN yet, or to measure the
// server without the rest of the relay. Run with `node --import tsx`.
//
// Usage: our-turn.ts --port P --secret-file F [--relay-ports MIN-MAX]
// Listens for STUN/TURN on UDP 127.0.0.1:P, relays on 127.0.0.1 with no bandwidth cap and
// loopback peers allowed (localNetwork), prints {"msg":"listening","port":P} on stdout and
// stops on SIGTERM/SIGINT.

import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createLogger } from '../../relay/log.ts'
import { createTurnServer } from '../../relay/turn/turn-server.ts'

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'secret-file': { type: 'string' },
    'relay-ports': { type: 'string', default: '49152-65535' },
  },
})
const [min, max] = (values['relay-ports'] ?? '').split('-').map(Number)
const secret = readFileSync(values['secret-file'] ?? '', 'utf8').trim()
const log = createLogger('info')

const server = createTurnServer({
  realm: 'monsoon',
  secret,
  stun: true,
  turn: true,
  relayPorts: { min, max },
  relayHost: '127.0.0.1',
  relayAddress: '127.0.0.1',
  maxAllocations: 1000,
  maxBandwidth: 0,
  localNetwork: true,
  log,
})
const port = await server.listenUdp(Number(values.port ?? 0), '127.0.0.1')
log.info('listening', { port, standalone: true })

let stopping = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    void server.close().finally(() => process.exit(0))
  })
}
