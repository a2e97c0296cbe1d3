// The candidate's side of an election, and the hostile promotions it must refuse. (The
// promoter's side runs against real relays in relay/test/election.test.ts.)

import { describe, expect, it } from 'vitest'
import { identityFromSecret } from '../../shared/identity.ts'
import { createFastVerifier } from '../signatures/verify.ts'
import { createLogger } from '../log.ts'
import { directTransport } from '../peering/peer-fetch.ts'
import { OpenSslSigner } from '../openssl-signer.ts'
import { SupernodeDirectory } from './directory.ts'
import { Election, PromotionConflict } from './election.ts'
import { NodeMessageError, signNodeMessage } from './node-message.ts'
import { SelfRecord } from './self-record.ts'
import { RecordSigner } from './test-support.ts'

const verify = createFastVerifier()
const now = () => Math.floor(Date.now() / 1000)

function candidate() {
  const key = new OpenSslSigner()
  const self = new SelfRecord({
    identity: identityFromSecret(key.secretKey),
    urls: () => ['http://127.0.0.1:9'],
    role: 'candidate',
    capacity: { maxHashes: 100, maxPeers: 1000, bandwidth: 10_000 },
    load: () => ({ hashes: 0, peers: 0, bandwidth: 0 }),
  })
  const directory = new SupernodeDirectory({ self: () => self.current(), verify })
  const published: string[] = []
  let roleChanges = 0
  const election = new Election({
    self,
    directory,
    signer: key,
    verify,
    log: createLogger('silent'),
    transport: directTransport,
    publish: async (record) => {
      published.push(record.role)
      return 1
    },
    onRoleChange: () => roleChanges++,
  })
  /** A supernode (or candidate) the directory knows; an admitted one (a root) unless
   * `admitted` is false. */
  const known = (role: 'supernode' | 'candidate' = 'supernode', admitted = true) => {
    const signer = new RecordSigner()
    directory.offer(signer.record({ seq: now(), ts: now(), role }), 'test', now())
    if (admitted) directory.adoptRoots([signer.id])
    return signer
  }
  /** A promotion from `from`, with its admission of `to` as the promoter sends it. */
  const promotion = (from: RecordSigner, to = key.id) =>
    JSON.parse(
      JSON.stringify(
        signNodeMessage(from, 'promotion', to, {
          reason: 'overload',
          ...(to !== from.id && { admission: from.admit(to, now()) }),
        }),
      ),
    )
  return { key, self, directory, election, known, promotion, published, roles: () => roleChanges }
}

function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof NodeMessageError) return err.code
    if (err instanceof PromotionConflict) return err.code
    throw err
  }
  return 'accepted'
}

describe('Election (candidate side)', () => {
  it('takes a promotion from a known supernode: signs itself a supernode and publishes', () => {
    const c = candidate()
    const promoter = c.known()
    const record = c.election.accept(c.promotion(promoter), now())
    expect(record).toMatchObject({ id: c.key.id, role: 'supernode' })
    expect(c.self.role).toBe('supernode')
    expect(c.directory.owners(now()).has(c.key.id)).toBe(true)
    expect(c.published).toEqual(['supernode'])
    expect(c.roles()).toBe(1)
  })

  it('takes one promotion only: a second supernode promoting it at once gets a conflict', () => {
    const c = candidate()
    const first = c.known()
    const second = c.known()
    expect(refusal(() => c.election.accept(c.promotion(first), now()))).toBe('accepted')
    expect(refusal(() => c.election.accept(c.promotion(second), now()))).toBe('already-supernode')
    expect(c.published).toEqual(['supernode'])
  })

  it('refuses forged promotions: unknown keys, candidates, other receivers, replays', () => {
    const c = candidate()
    expect(refusal(() => c.election.accept(c.promotion(new RecordSigner()), now()))).toBe(
      'unknown-sender',
    )
    const peer = c.known('candidate')
    expect(refusal(() => c.election.accept(c.promotion(peer), now()))).toBe('unknown-sender')
    // A record that says `role: supernode` with no admission behind it is no supernode.
    const selfDeclared = c.known('supernode', false)
    expect(refusal(() => c.election.accept(c.promotion(selfDeclared), now()))).toBe(
      'unknown-sender',
    )
    const promoter = c.known()
    expect(refusal(() => c.election.accept(c.promotion(promoter, promoter.id), now()))).toBe(
      'wrong-receiver',
    )
    const tampered = { ...c.promotion(promoter), body: '{"reason":"rotation"}' }
    expect(refusal(() => c.election.accept(tampered, now()))).toBe('bad-signature')
    expect(c.self.role).toBe('candidate')
    const message = c.promotion(promoter)
    expect(refusal(() => c.election.accept(message, now()))).toBe('accepted')
    c.self.demote()
    expect(refusal(() => c.election.accept(message, now()))).toBe('replayed')
  })

  it('steps down: signs itself a candidate, leaves the owner set and publishes', async () => {
    const c = candidate()
    c.election.accept(c.promotion(c.known()), now())
    await c.election.stepDown('underload')
    expect(c.self.role).toBe('candidate')
    expect(c.directory.owners(now()).has(c.key.id)).toBe(false)
    expect(c.published).toEqual(['supernode', 'candidate'])
  })
})
