// Issue 20, finding 1 (Sybil supernodes), against a real relay: one POST /v1/supernodes from
// one address with 30 records signed by fresh keys, whose URLs are the attacker's own
// servers (on a 127.0.0.0/8 alias) that answer /v1/hello as those keys, admit each other
// and answer announces with a peer list of their choosing. Before admission (shared/
// admission.ts), 19 of 20 announces went to them. Now:
// - with the default probation, none of them owns anything: every announce is answered by
//   the relay itself, lookups name it alone, its bootstrap list names it alone, and the
//   admission rule a browser runs on its GET /v1/supernodes agrees;
// - with no probation, the young network admits volunteers, but only as many as the
//   per-prefix cap allows: two from 127.0.0.0/24 (the relay itself is named localhost).

import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { checkSupernodes } from '../../app/lib/network.ts'
import { RecordSigner } from '../supernode/test-support.ts'
import { getJson, removeTempDirs, waitFor } from './catalog-helpers.ts'
import { postJsonFrom, requestFrom } from './from-address.ts'
import { startRelay, type RelayProcess } from './relay-process.ts'
import { owningIds } from './supernode-helpers.ts'
import { announcePath, failureReason } from './tracker-wire.ts'

const ATTACKER = '127.0.0.9'
const HONEST = '127.0.0.2'
const SYBILS = 30

const running: RelayProcess[] = []
const servers: Server[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()))
  for (const s of servers.splice(0)) s.close()
  removeTempDirs()
})

interface Sybil {
  signer: RecordSigner
  url: string
  hits: string[]
}

/** 30 attacker relays on ATTACKER: each answers as its key, lists the others with
 * admissions among them and itself as root, and answers announces with its own peer. */
async function sybils(count = SYBILS): Promise<Sybil[]> {
  const all: Sybil[] = []
  for (let i = 0; i < count; i++) {
    const sybil: Sybil = { signer: new RecordSigner(), url: '', hits: [] }
    const server = createServer((req, res) => {
      sybil.hits.push(req.url ?? '')
      const now = Math.floor(Date.now() / 1000)
      const record = (s: Sybil) => s.signer.record({ seq: now, ts: now, url: s.url })
      let body: unknown
      if (req.url === '/v1/hello') body = record(sybil)
      else if (req.url?.startsWith('/v1/supernodes')) {
        body = {
          supernodes: all.map(record),
          roots: [sybil.signer.id],
          admissions: all
            .filter((s) => s !== sybil)
            .map((s) => sybil.signer.admit(s.signer.id, now)),
          maxPerPrefix: 64,
        }
      } else {
        res
          .writeHead(200, { 'Content-Type': 'text/plain' })
          .end('d8:intervali60e5:peers6:\x7f\x00\x00\x09\x1a\xe1e')
        return
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
    })
    await new Promise<void>((resolve) => server.listen(0, ATTACKER, resolve))
    servers.push(server)
    sybil.url = `http://${ATTACKER}:${(server.address() as AddressInfo).port}`
    all.push(sybil)
  }
  return all
}

/** The attack: one POST of every sybil's record, from the attacker's address. */
async function push(relay: RelayProcess, all: Sybil[]): Promise<void> {
  const now = Math.floor(Date.now() / 1000)
  const records = all.map((s) => s.signer.record({ seq: now, ts: now, url: s.url }))
  const answer = await postJsonFrom(ATTACKER, `${relay.url}/v1/supernodes`, { records })
  expect(answer.status).toBe(200)
  expect(answer.body.accepted).toBe(all.length)
}

/** 20 classic announces for random hashes from an honest address: how many the relay
 * answered itself (an empty swarm, or its own peers), and none failed. */
async function announces(relay: RelayProcess): Promise<number> {
  let answered = 0
  for (let i = 0; i < 20; i++) {
    const path = announcePath({
      infoHash: randomBytes(20),
      peerId: randomBytes(20),
      port: 6881,
      left: 0,
    })
    const { body } = await requestFrom(HONEST, relay.url + path)
    expect(failureReason(new Uint8Array(body))).toBeUndefined()
    // A sybil's answer names its own peer 127.0.0.9:6881; the relay's names no one else.
    if (!body.includes(Buffer.from([127, 0, 0, 9]))) answered++
  }
  return answered
}

async function relay(...args: string[]): Promise<RelayProcess> {
  // The defaults a public relay runs with, said out loud (the test harness raises them for
  // networks of test relays on one address), and --local-network so the attacker's loopback
  // servers are as reachable as a public attacker's would be.
  const r = await startRelay({
    args: [
      ...['--local-network', '--supernode-poll-interval', '1'],
      ...['--max-supernodes-per-prefix', '2', '--admission-probation', '600'],
      ...args,
    ],
  })
  running.push(r)
  return r
}

describe('Sybil supernodes: 30 fresh keys pushed from one address', () => {
  it('own nothing: the relay answers every announce and names itself alone', async () => {
    const r = await relay()
    const all = await sybils()
    await push(r, all)
    const self = (await getJson(`${r.url}/v1/hello`)).body.id as string
    // Exchange rounds go by: the relay pulls the sybils, which answer and admit each other.
    await waitFor('the relay to have pulled every sybil', async () =>
      all.every((s) => s.hits.includes('/v1/supernodes')),
    )
    const listed = (await getJson(`${r.url}/v1/supernodes`)).body
    expect((listed.supernodes as unknown[]).length).toBe(1 + SYBILS)
    expect(await owningIds(r)).toEqual([self])
    // What a browser computes from the same answer (app/lib/network.ts) agrees.
    const checked = checkSupernodes(listed, Math.floor(Date.now() / 1000))
    expect(checked.records.map((x) => x.id)).toEqual([self])
    expect(checked.unadmitted).toBe(SYBILS)

    expect(await announces(r)).toBe(20)
    expect(all.flatMap((s) => s.hits).filter((h) => h.startsWith('/announce'))).toEqual([])
    for (let i = 0; i < 5; i++) {
      const lookup = (await getJson(`${r.url}/v1/lookup/${randomBytes(20).toString('hex')}`)).body
      expect(lookup.owner).toBe(true)
      expect((lookup.owners as { id: string }[]).map((o) => o.id)).toEqual([self])
    }
    const list = (await getJson(`${r.url}/.well-known/monsoon.json`)).body as { urls?: string[] }
    expect(JSON.stringify(list)).not.toContain(ATTACKER)
  }, 120_000)

  it('with no probation, gain only the seats the per-prefix cap allows: two', async () => {
    const r = await relay('--admission-probation', '0')
    // Six are enough to pass the cap, and light enough for a loaded machine to keep them all
    // answering (a sybil that misses pulls drops out of the live set).
    const all = await sybils(6)
    await push(r, all)
    await waitFor('two volunteers admitted', async () => (await owningIds(r)).length === 3)
    // Several more election ticks (one a second): never more than two owning at once (one
    // that misses pulls on a busy machine leaves the set, and another may take its seat), and
    // the cap is said.
    const sybilIds = new Set(all.map((s) => s.signer.id))
    for (let i = 0; i < 8; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      const owning = await owningIds(r)
      expect(owning.filter((id) => sybilIds.has(id)).length).toBeLessThanOrEqual(2)
    }
    // (Once two are admitted, their admissions of the others count too: the others are then
    // admitted but own nothing, held out by the same cap when owners are computed.)
    const { body } = await getJson(`${r.url}/v1/supernodes`)
    expect(checkSupernodes(body, Math.floor(Date.now() / 1000)).records).toHaveLength(3)
  }, 120_000)
})
