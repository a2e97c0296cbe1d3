import { describe, expect, it } from 'vitest'
import { createIdentity, type NodeIdentity } from '../../shared/identity.ts'
import { verifySupernodeRecord } from '../../shared/supernode.ts'
import { OpenSslSigner } from '../openssl-signer.ts'
import { SelfRecord } from './self-record.ts'

const T0 = 1_764_115_200_000

function setup(sign?: (identity: NodeIdentity, message: Uint8Array) => Uint8Array) {
  let now = T0
  let peers = 0
  const identity = createIdentity()
  const self = new SelfRecord({
    identity,
    urls: () => ['http://LOCALHOST:8080/'],
    role: 'candidate',
    capacity: { maxHashes: 10, maxPeers: 20, bandwidth: 30 },
    load: () => ({ hashes: 1, peers, bandwidth: 2 }),
    now: () => now,
    resignIntervalSeconds: 2,
    ...(sign && { sign: (message: Uint8Array) => sign(identity, message) }),
  })
  return {
    identity,
    self,
    at: (ms: number) => (now = ms),
    setPeers: (n: number) => (peers = n),
  }
}

describe('SelfRecord', () => {
  it('signs with the signer it is given (OpenSSL in the relay), a record every node accepts', () => {
    const signed: Uint8Array[] = []
    const { self } = setup((identity, message) => {
      signed.push(message)
      return new OpenSslSigner(identity.secretKey).sign(message)
    })
    const record = self.current()
    expect(signed).toHaveLength(1)
    expect(verifySupernodeRecord(record, T0 / 1000)).toEqual(record)
  })

  it('signs a record every node accepts, with the current load', () => {
    const { identity, self, setPeers } = setup()
    setPeers(7)
    const record = verifySupernodeRecord(JSON.parse(JSON.stringify(self.current())), T0 / 1000)
    expect(record).toMatchObject({
      id: identity.id,
      urls: ['http://localhost:8080'],
      role: 'candidate',
      capacity: { maxHashes: 10, maxPeers: 20, bandwidth: 30 },
      load: { hashes: 1, peers: 7, bandwidth: 2 },
      seq: T0 / 1000,
      ts: T0 / 1000,
    })
    expect(self.id).toBe(identity.id)
  })

  it('serves the cached record within the interval and signs again after it', () => {
    const { self, at, setPeers } = setup()
    const first = self.current()
    setPeers(5)
    at(T0 + 1999)
    expect(self.current()).toBe(first)
    at(T0 + 2000)
    const second = self.current()
    expect(second.load.peers).toBe(5)
    expect(second.seq).toBeGreaterThan(first.seq)
  })

  it('keeps seq going up when the clock steps back', () => {
    const { self, at } = setup()
    const first = self.current()
    at(T0 - 60_000)
    const second = self.current()
    expect(second.seq).toBe(first.seq + 1)
    expect(second.ts).toBe(T0 / 1000 - 60)
    at(T0 + 3000)
    expect(self.current().seq).toBe(first.seq + 3)
  })

  it('demotes itself: a candidate record signed at once, with a higher seq, kept', () => {
    const { identity } = setup()
    let now = T0
    const promoted = new SelfRecord({
      identity,
      urls: () => ['http://localhost:8080'],
      role: 'supernode',
      capacity: { maxHashes: 10, maxPeers: 20, bandwidth: 30 },
      load: () => ({ hashes: 0, peers: 0, bandwidth: 0 }),
      now: () => now,
    })
    const before = promoted.current()
    expect(before.role).toBe('supernode')
    const demoted = verifySupernodeRecord(JSON.parse(JSON.stringify(promoted.demote())), T0 / 1000)
    expect(demoted).toMatchObject({ id: identity.id, role: 'candidate' })
    expect(demoted.seq).toBeGreaterThan(before.seq)
    expect(promoted.role).toBe('candidate')
    expect(promoted.current()).toEqual(demoted)
    // Signed again later with fresh load figures, it stays a candidate.
    now = T0 + 60_000
    expect(promoted.current()).toMatchObject({ role: 'candidate', seq: T0 / 1000 + 60 })
  })
})
