// What the processes of bench/abuse agree on: who is who on loopback, and the Sybil fakes'
// marker peer.

/** The one attacking address (a loopback alias: Linux routes all of 127.0.0.0/8 to lo). */
export const ATTACKER = '127.0.0.66'
/** Honest users: eight addresses of their own, none the attacker's, so a budget per address
 * meant for the attacker is not what the honest load runs into. */
export const HONEST = Array.from({ length: 8 }, (_, i) => `127.0.0.${2 + i}`)
/** The addresses the catalog is seeded from (slow readers), one per publisher, neither
 * honest nor attacking: a large catalog comes from many people, and each address has a
 * catalog budget of its own. */
export const PUBLISHERS = Array.from({ length: 5 }, (_, i) => `127.0.0.${40 + i}`)
/** The peer every Sybil fake puts in its announce answers, 6.6.6.6:6666 as a BEP 23 compact
 * entry: an honest answer that carries it came from the attacker's servers. */
export const FAKE_PEER = Buffer.from([6, 6, 6, 6, 6666 >> 8, 6666 & 0xff])

/** Runs `report` (which prints the process's result line) on SIGTERM or SIGINT, then exits. */
export function onStop(report) {
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => {
      process.stdout.write(JSON.stringify(report()) + '\n', () => process.exit(0))
    })
  }
}
