import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { announceAnswer, forwardedSignal, signalTail } from './ws-messages.ts'

/** A protocol "binary string": one char per byte, control characters and all. */
const binaryId = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((bytes) => String.fromCharCode(...bytes))
/** Any text a hostile client may put in an SDP: quotes, backslashes, controls, lone
 * surrogates, characters past the BMP. */
const anyText = fc.string({ unit: 'binary', maxLength: 300 })

describe('ws-messages', () => {
  it('writes a forwarded offer or answer exactly as JSON.stringify does (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('offer' as const, 'answer' as const),
        anyText,
        binaryId,
        binaryId,
        binaryId,
        (type, sdp, offerId, peerId, infoHash) => {
          const tail = signalTail(JSON.stringify(peerId), JSON.stringify(infoHash))
          const expected = JSON.stringify({
            action: 'announce',
            [type]: { type, sdp },
            offer_id: offerId,
            peer_id: peerId,
            info_hash: infoHash,
          })
          expect(forwardedSignal(type, sdp, offerId, tail)).toBe(expected)
        },
      ),
    )
  })

  it('writes an announce answer exactly as JSON.stringify does (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.nat(), fc.double()),
        binaryId,
        fc.nat(),
        fc.nat(),
        (interval, infoHash, complete, incomplete) => {
          const text = announceAnswer(
            JSON.stringify(interval),
            JSON.stringify(infoHash),
            complete,
            incomplete,
          )
          expect(text).toBe(
            JSON.stringify({
              action: 'announce',
              interval,
              info_hash: infoHash,
              complete,
              incomplete,
            }),
          )
        },
      ),
    )
  })

  it('keeps a hostile SDP inside its string: the message parses back to the same fields', () => {
    const sdp = '"},"peer_id":"forged","x":{"\\\u0000\u2028\ud800'
    const text = forwardedSignal(
      'offer',
      sdp,
      'o'.repeat(20),
      signalTail(JSON.stringify('p'.repeat(20)), '"h"'),
    )
    expect(JSON.parse(text)).toEqual({
      action: 'announce',
      offer: { type: 'offer', sdp },
      offer_id: 'o'.repeat(20),
      peer_id: 'p'.repeat(20),
      info_hash: 'h',
    })
  })
})
