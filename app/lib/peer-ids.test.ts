import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  BRIDGE_PEER_ID_PREFIX,
  PAGE_PEER_ID_PREFIX,
  PEER_ID_RANDOM_BYTES,
  bridgePeerId,
  isBridgePeer,
  isMonsoonPeer,
  pagePeerId,
} from './peer-ids.ts'

const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex')
const random = fc.uint8Array({
  minLength: PEER_ID_RANDOM_BYTES,
  maxLength: PEER_ID_RANDOM_BYTES,
})

describe('bridge peer ids', () => {
  it('are 20 bytes that start with the prefix', () => {
    fc.assert(
      fc.property(random, (bytes) => {
        const id = bridgePeerId(bytes)
        expect(id).toMatch(/^[0-9a-f]{40}$/)
        expect(Buffer.from(id, 'hex').subarray(0, 8).toString('latin1')).toBe(BRIDGE_PEER_ID_PREFIX)
        expect(isBridgePeer(id)).toBe(true)
        expect(isMonsoonPeer(id)).toBe(true)
      }),
    )
  })

  it('refuses random bytes of another length', () => {
    expect(() => bridgePeerId(new Uint8Array(11))).toThrow(RangeError)
    expect(() => bridgePeerId(new Uint8Array(20))).toThrow(RangeError)
    expect(() => pagePeerId(new Uint8Array(11))).toThrow(RangeError)
  })

  it('are told from stock WebTorrent and other clients', () => {
    // Stock WebTorrent (browser and Node): `-WW` and its version.
    expect(isBridgePeer(hex('-WW0208-abcdefghijkl'))).toBe(false)
    expect(isBridgePeer(hex('-qB4620-abcdefghijkl'))).toBe(false)
    expect(isBridgePeer(hex('-AZ2060-hostile00001'))).toBe(false)
    // A later bridge version still is one.
    expect(isBridgePeer(hex('-MB0207-abcdefghijkl'))).toBe(true)
  })

  it('reads only well-formed peer ids', () => {
    const id = hex('-MB0001-abcdefghijkl')
    expect(isBridgePeer(undefined)).toBe(false)
    expect(isBridgePeer('')).toBe(false)
    expect(isBridgePeer(id.toUpperCase())).toBe(false)
    expect(isBridgePeer(id.slice(0, 38))).toBe(false)
    expect(isBridgePeer(`${id}00`)).toBe(false)
    expect(isBridgePeer(hex('-MB00x1-abcdefghijkl'))).toBe(false)
    expect(isBridgePeer(hex('-MB0001+abcdefghijkl'))).toBe(false)
    expect(isBridgePeer('#3')).toBe(false)
  })

  it('says no for any other 40 hex that does not start so', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (bytes) => {
        const id = Buffer.from(bytes).toString('hex')
        const claims = /^-MB[0-9]{4}-$/.test(Buffer.from(bytes.subarray(0, 8)).toString('latin1'))
        expect(isBridgePeer(id)).toBe(claims)
      }),
    )
  })
})

describe('page peer ids', () => {
  it('are 20 bytes that start with the prefix, Monsoon peers but not bridges', () => {
    fc.assert(
      fc.property(random, (bytes) => {
        const id = pagePeerId(bytes)
        expect(id).toMatch(/^[0-9a-f]{40}$/)
        expect(Buffer.from(id, 'hex').subarray(0, 8).toString('latin1')).toBe(PAGE_PEER_ID_PREFIX)
        expect(isMonsoonPeer(id)).toBe(true)
        expect(isBridgePeer(id)).toBe(false)
      }),
    )
  })

  it('tell Monsoon from stock WebTorrent and other clients', () => {
    expect(isMonsoonPeer(hex('-MW0207-abcdefghijkl'))).toBe(true)
    expect(isMonsoonPeer(hex('-WW0208-abcdefghijkl'))).toBe(false)
    expect(isMonsoonPeer(hex('-MX0001-abcdefghijkl'))).toBe(false)
    expect(isMonsoonPeer(hex('-MW00x1-abcdefghijkl'))).toBe(false)
    expect(isMonsoonPeer(undefined)).toBe(false)
    expect(isMonsoonPeer(hex('-MW0001-abcdefghijkl').toUpperCase())).toBe(false)
  })
})
