import { describe, expect, it } from 'vitest'
import { quietRefusals } from '../refusals.ts'
import { NodeMessageError } from '../supernode/node-message.ts'
import { RequestRate } from '../transport/request-rate.ts'
import { TrackerFront, countParams, isTrackerPath, type TrackerFrontDeps } from './http-front.ts'
import { failureReason } from '../test/tracker-wire.ts'

const BODY = Buffer.from('d8:completei1ee')
const ANNOUNCE = '/announce?info_hash=a&peer_id=b&port=1'

/** A front over stub answers, recording what each dependency was asked. */
function front(options: Partial<TrackerFrontDeps> & { burst?: number } = {}) {
  const refusals = quietRefusals()
  const requestRate = new RequestRate({
    // Next to no refill: a test's requests are the burst, however long it runs.
    perSecond: 0.001,
    burst: options.burst ?? 100,
    penaltyMs: 0,
    maxAddresses: 100,
    refusals,
  })
  const seen = {
    metered: 0,
    announced: [] as string[],
    asked: [] as string[],
    local: [] as string[],
  }
  const deps: TrackerFrontDeps = {
    trustProxy: false,
    requestRate,
    meter: { add: (n) => (seen.metered += n) },
    onAnnounce: (url) => seen.announced.push(url),
    answer: (url, ip) => (seen.asked.push(ip), BODY),
    localAnswer: (url, ip) => (seen.local.push(ip), BODY),
    forwardedIp: () => '198.51.100.7',
    ...options,
  }
  return { front: new TrackerFront(deps), seen, requestRate, refusals }
}

describe('TrackerFront', () => {
  it('answers, meters request line and body, and tells the bridge of announces only', () => {
    const { front: f, seen } = front()
    expect(f.answer({ url: ANNOUNCE, remoteAddress: '::ffff:192.0.2.1' })).toBe(BODY)
    expect(seen.asked).toEqual(['192.0.2.1'])
    expect(seen.metered).toBe(ANNOUNCE.length + BODY.length)
    expect(seen.announced).toEqual([ANNOUNCE])
    f.answer({ url: '/scrape?info_hash=a', remoteAddress: '192.0.2.1' })
    expect(seen.announced).toEqual([ANNOUNCE])
  })

  it('meters an answer other relays give once it is in', async () => {
    const { front: f, seen } = front({ answer: () => Promise.resolve(BODY) })
    const answer = f.answer({ url: ANNOUNCE, remoteAddress: '192.0.2.1' })
    expect(answer).toBeInstanceOf(Promise)
    expect(seen.metered).toBe(0)
    expect(await answer).toBe(BODY)
    expect(seen.metered).toBe(ANNOUNCE.length + BODY.length)
  })

  it('charges each request to its address, a scrape a tenth more per hash; null over the rate', () => {
    const { front: f, refusals } = front({ burst: 3 })
    const from = (remoteAddress: string) => f.answer({ url: ANNOUNCE, remoteAddress })
    expect([from('192.0.2.1'), from('192.0.2.1'), from('192.0.2.1')]).not.toContain(null)
    expect(from('192.0.2.1')).toBeNull()
    expect(from('192.0.2.2')).not.toBeNull()
    expect(refusals.count('request-rate')).toBe(1)

    const scrape = front({ burst: 3 }).front
    const twenty = `/scrape?${Array.from({ length: 20 }, () => 'info_hash=a').join('&')}`
    // One request and two more for twenty hashes: the burst is gone.
    expect(scrape.answer({ url: twenty, remoteAddress: '192.0.2.1' })).not.toBeNull()
    expect(scrape.answer({ url: ANNOUNCE, remoteAddress: '192.0.2.1' })).toBeNull()
  })

  it('answers a proxied announce here for the client it names, outside the relay’s rate', () => {
    const { front: f, seen } = front({ burst: 1 })
    for (let i = 0; i < 5; i++) {
      expect(f.answer({ url: ANNOUNCE, remoteAddress: '192.0.2.9', proxied: 'signed' })).toBe(BODY)
    }
    expect(seen.local).toEqual(Array(5).fill('198.51.100.7'))
    expect(seen.asked).toEqual([])
    expect(seen.announced).toHaveLength(5)
  })

  it('refuses a forged proxy header with a failure reason and charges its sender ten requests', () => {
    const { front: f } = front({
      burst: 11,
      forwardedIp: () => {
        throw new NodeMessageError('bad-signature', 'proxied announce MAC does not match')
      },
    })
    const body = f.answer({ url: ANNOUNCE, remoteAddress: '192.0.2.9', proxied: 'forged' })
    expect(failureReason(body as Uint8Array)).toBe(
      'proxied request refused: proxied announce MAC does not match',
    )
    expect(f.answer({ url: ANNOUNCE, remoteAddress: '192.0.2.9' })).not.toBeNull()
    expect(f.answer({ url: ANNOUNCE, remoteAddress: '192.0.2.9' })).toBeNull()
  })

  it('reads X-Forwarded-For only behind a trusted proxy, for the address and its rate', () => {
    const trusted = front({ trustProxy: true, burst: 1 })
    const via = (forwardedFor: string) =>
      trusted.front.answer({ url: ANNOUNCE, remoteAddress: '10.0.0.1', forwardedFor })
    expect(via('203.0.113.5, 192.0.2.1')).not.toBeNull()
    expect(via('192.0.2.2')).not.toBeNull()
    expect(via('192.0.2.2')).toBeNull()
    expect(trusted.seen.asked).toEqual(['192.0.2.1', '192.0.2.2'])

    const direct = front({ burst: 1 })
    direct.front.answer({ url: ANNOUNCE, remoteAddress: '10.0.0.1', forwardedFor: '192.0.2.1' })
    expect(direct.seen.asked).toEqual(['10.0.0.1'])
    expect(
      direct.front.answer({ url: ANNOUNCE, remoteAddress: '10.0.0.1', forwardedFor: '192.0.2.3' }),
    ).toBeNull()
  })

  it('knows its paths and counts query parameters', () => {
    expect(isTrackerPath('/announce?a')).toBe(true)
    expect(isTrackerPath('/scrape')).toBe(true)
    expect(isTrackerPath('/v1/stats')).toBe(false)
    expect(countParams('/scrape')).toBe(0)
    expect(countParams('/scrape?a=1&b=2&c')).toBe(3)
  })
})
