import { createRequire } from 'node:module'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_STUN_ATTRIBUTES } from '../limits.ts'
import { longTermKey } from './credentials.ts'
import {
  Attr,
  MessageClass,
  Method,
  StunParseError,
  attribute,
  channelNumberValue,
  decodeChannelData,
  decodeStun,
  encodeChannelData,
  encodeStun,
  errorCodeValue,
  frameLength,
  looksLikeStun,
  messageType,
  readChannelNumber,
  readErrorCode,
  readRequestedTransport,
  readUint32,
  readUnknownAttributes,
  readXorAddress,
  requestedTransportValue,
  uint32Value,
  unknownAttributesValue,
  unknownRequired,
  verifyIntegrity,
  xorAddressValue,
} from './stun-message.ts'
import vectors from './vectors/rfc5769.json'

/** @msimerson/stun, an independent STUN implementation (CommonJS). */
interface RefMessage {
  addAttribute(type: number, ...args: unknown[]): unknown
  addMessageIntegrity(key: Buffer): boolean
  addFingerprint(): boolean
  toBuffer(): Buffer
}
interface RefDecoded {
  type: number
  transactionId: Buffer
  getAttribute(type: number): { value: unknown } | undefined
  getXorAddress(): { address: string; port: number; family: string }
}
const ref = createRequire(import.meta.url)('@msimerson/stun') as {
  createMessage(type: number, tid: Buffer): RefMessage
  decode(bytes: Buffer): RefDecoded
  validateMessageIntegrity(msg: RefDecoded, key: Buffer): boolean
  validateFingerprint(msg: RefDecoded): boolean
}

const hex = (s: string) => Buffer.from(s, 'hex')

function reason(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (err instanceof StunParseError) return err.reason
    throw err
  }
  return 'no error'
}

describe('RFC 5769 test vectors', () => {
  it.each(vectors.shortTerm)('$name: decodes, integrity and fingerprint check', (v) => {
    const raw = hex(v.hex)
    const msg = decodeStun(raw)
    expect([msg.method, msg.cls]).toEqual([v.method, v.cls])
    expect(msg.transactionId.toString('hex')).toBe(v.transactionId)
    expect(attribute(msg, Attr.Software)?.toString()).toBe(v.software)
    if (v.username) expect(attribute(msg, Attr.Username)?.toString()).toBe(v.username)
    if (v.mapped) {
      expect(readXorAddress(attribute(msg, Attr.XorMappedAddress)!, msg.transactionId)).toEqual(
        v.mapped,
      )
    }
    expect(msg.attributes.at(-1)?.type).toBe(Attr.Fingerprint)
    const key = Buffer.from(v.password)
    expect(verifyIntegrity(msg, key)).toBe(true)
    expect(verifyIntegrity(msg, Buffer.from(v.password + 'x'))).toBe(false)
  })

  it.each(vectors.shortTerm)(
    '$name: any flipped bit fails the fingerprint or the integrity',
    (v) => {
      const raw = hex(v.hex)
      const key = Buffer.from(v.password)
      // Every byte of the transaction id and of the attribute values before MI (flipping a
      // length byte instead breaks the framing, which is another error).
      const msg = decodeStun(raw)
      const positions = [...Array(12).keys()].map((i) => 8 + i)
      for (const a of msg.attributes.slice(0, -2)) {
        const start = a.value.byteOffset - raw.byteOffset
        for (let i = 0; i < a.value.length; i++) positions.push(start + i)
      }
      for (const i of positions) {
        const bad = Buffer.from(raw)
        bad[i] ^= 0x01
        expect(reason(() => decodeStun(bad))).toBe('bad-fingerprint')
        // The MAC alone catches it too (the fingerprint is not a security check).
        const unfingerprinted = Buffer.from(bad.subarray(0, raw.length - 8))
        unfingerprinted.writeUInt16BE(raw.length - 8 - 20, 2)
        expect(verifyIntegrity(decodeStun(unfingerprinted), key)).toBe(false)
      }
    },
  )

  it('2.4 long-term authentication: key MD5(username:realm:password), and we encode it byte for byte', () => {
    const [v] = vectors.longTerm
    const raw = hex(v.hex)
    const msg = decodeStun(raw)
    expect(attribute(msg, Attr.Username)?.toString('utf8')).toBe(v.username)
    expect(attribute(msg, Attr.Nonce)?.toString()).toBe(v.nonce)
    expect(attribute(msg, Attr.Realm)?.toString()).toBe(v.realm)
    const key = longTermKey(v.username, v.realm, v.password)
    expect(verifyIntegrity(msg, key)).toBe(true)
    expect(verifyIntegrity(msg, longTermKey(v.username, v.realm, 'TheMatrix'))).toBe(false)
    const again = encodeStun(
      {
        method: v.method,
        cls: v.cls,
        transactionId: hex(v.transactionId),
        attributes: msg.attributes.filter((a) => a.type !== Attr.MessageIntegrity),
      },
      { integrityKey: key },
    )
    expect(again.toString('hex')).toBe(v.hex)
  })

  it('checks integrity over the received bytes: attributes after MESSAGE-INTEGRITY are ignored', () => {
    const [v] = vectors.longTerm
    const raw = hex(v.hex)
    const extra = Buffer.from([
      0x80, 0x22, 0x00, 0x04, 0x61, 0x62, 0x63, 0x64, 0x00, 0x24, 0, 4, 1, 2, 3, 4,
    ])
    const longer = Buffer.concat([raw, extra])
    longer.writeUInt16BE(longer.length - 20, 2)
    const msg = decodeStun(longer)
    expect(msg.attributes.map((a) => a.type)).toEqual([
      Attr.Username,
      Attr.Nonce,
      Attr.Realm,
      Attr.MessageIntegrity,
    ])
    expect(verifyIntegrity(msg, longTermKey(v.username, v.realm, v.password))).toBe(true)
  })
})

const RESERVED = new Set<number>([Attr.MessageIntegrity, Attr.Fingerprint])
const anyAttribute = fc.record({
  type: fc.integer({ min: 0, max: 0xffff }).filter((t) => !RESERVED.has(t)),
  value: fc.uint8Array({ maxLength: 70 }).map((a) => Buffer.from(a)),
})
const anyMessage = fc.record({
  method: fc.integer({ min: 0, max: 0xfff }),
  cls: fc.integer({ min: 0, max: 3 }),
  transactionId: fc.uint8Array({ minLength: 12, maxLength: 12 }).map((a) => Buffer.from(a)),
  attributes: fc.array(anyAttribute, { maxLength: 20 }),
})

describe('round trips (property)', () => {
  it('encode then decode gives back method, class, id and attributes; MI and FINGERPRINT check', () => {
    fc.assert(
      fc.property(
        anyMessage,
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 32 })),
        fc.boolean(),
        (m, key, fp) => {
          const bytes = encodeStun(m, { integrityKey: key ?? undefined, fingerprint: fp })
          expect(bytes.length % 4).toBe(0)
          const msg = decodeStun(bytes)
          expect([msg.method, msg.cls]).toEqual([m.method, m.cls])
          expect(msg.transactionId.equals(m.transactionId)).toBe(true)
          const plain = msg.attributes.filter((a) => !RESERVED.has(a.type))
          expect(plain.map((a) => [a.type, a.value.toString('hex')])).toEqual(
            m.attributes.map((a) => [a.type, a.value.toString('hex')]),
          )
          expect(msg.integrityAt >= 0).toBe(key !== null)
          if (key) expect(verifyIntegrity(msg, key)).toBe(true)
        },
      ),
    )
  })

  it('XOR addresses, IPv4 and IPv6', () => {
    const canonical6 = (ip: string) => new URL(`http://[${ip}]/`).hostname.slice(1, -1)
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.ipV6()),
        fc.integer({ min: 0, max: 0xffff }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        (ip, port, tid) => {
          const got = readXorAddress(xorAddressValue(ip, port, tid), Buffer.from(tid))
          const v4 = !ip.includes(':')
          expect(got).toEqual({ family: v4 ? 4 : 6, address: v4 ? ip : canonical6(ip), port })
        },
      ),
    )
  })

  it('ChannelData, padded or not', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x4000, max: 0x4fff }),
        fc.uint8Array({ maxLength: 300 }),
        fc.boolean(),
        (channel, data, padded) => {
          const frame = encodeChannelData(channel, data, padded)
          if (padded) expect(frame.length % 4).toBe(0)
          expect(frameLength(frame, 0)).toBe(4 + ((data.length + 3) & ~3))
          const got = decodeChannelData(frame)
          expect(got.channel).toBe(channel)
          expect(Buffer.from(got.data).equals(Buffer.from(data))).toBe(true)
        },
      ),
    )
  })

  it('small values', () => {
    expect(readErrorCode(errorCodeValue(438, 'Stale Nonce'))).toEqual({
      code: 438,
      reason: 'Stale Nonce',
    })
    expect(readUint32(uint32Value(3600))).toBe(3600)
    expect(readRequestedTransport(requestedTransportValue(17))).toBe(17)
    expect(readChannelNumber(channelNumberValue(0x4abc))).toBe(0x4abc)
    expect(readUnknownAttributes(unknownAttributesValue([0x1a, 0x7fff]))).toEqual([0x1a, 0x7fff])
    expect(messageType(Method.Allocate, MessageClass.Error)).toBe(0x0113)
    expect(messageType(Method.ChannelBind, MessageClass.Success)).toBe(0x0109)
    expect(messageType(Method.Data, MessageClass.Indication)).toBe(0x0017)
  })
})

const TYPES = {
  allocateSuccess: messageType(Method.Allocate, MessageClass.Success),
  allocateError: messageType(Method.Allocate, MessageClass.Error),
  sendIndication: messageType(Method.Send, MessageClass.Indication),
}

describe('byte for byte against @msimerson/stun', () => {
  const tidArb = fc.uint8Array({ minLength: 12, maxLength: 12 }).map((a) => Buffer.from(a))
  const text = fc.string({ minLength: 1, maxLength: 60 })

  it('an Allocate success (relayed, mapped, lifetime, MI, fingerprint)', () => {
    fc.assert(
      fc.property(
        tidArb,
        fc.ipV4(),
        fc.ipV6(),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (tid, ip4, ip6, port, lifetime, key) => {
          const k = Buffer.from(key)
          const theirs = ref.createMessage(TYPES.allocateSuccess, tid)
          theirs.addAttribute(Attr.XorRelayedAddress, ip4, port)
          theirs.addAttribute(Attr.XorMappedAddress, ip6, port)
          theirs.addAttribute(Attr.Lifetime, lifetime)
          theirs.addMessageIntegrity(k)
          theirs.addFingerprint()
          const ours = encodeStun(
            {
              method: Method.Allocate,
              cls: MessageClass.Success,
              transactionId: tid,
              attributes: [
                { type: Attr.XorRelayedAddress, value: xorAddressValue(ip4, port, tid) },
                { type: Attr.XorMappedAddress, value: xorAddressValue(ip6, port, tid) },
                { type: Attr.Lifetime, value: uint32Value(lifetime) },
              ],
            },
            { integrityKey: k, fingerprint: true },
          )
          expect(ours.toString('hex')).toBe(theirs.toBuffer().toString('hex'))
          // Their checks re-encode what they decoded, and their decoder XORs IPv6 addresses
          // before it knows the transaction id, so they are run on an IPv4-only message.
          const ours4 = encodeStun(
            {
              method: Method.Allocate,
              cls: MessageClass.Success,
              transactionId: tid,
              attributes: [
                { type: Attr.XorRelayedAddress, value: xorAddressValue(ip4, port, tid) },
              ],
            },
            { integrityKey: k, fingerprint: true },
          )
          const decoded = ref.decode(ours4)
          expect(ref.validateMessageIntegrity(decoded, k)).toBe(true)
          expect(ref.validateFingerprint(decoded)).toBe(true)
        },
      ),
    )
  })

  it('an Allocate error (ERROR-CODE, REALM, NONCE, UNKNOWN-ATTRIBUTES, SOFTWARE)', () => {
    fc.assert(
      fc.property(
        tidArb,
        fc.integer({ min: 300, max: 699 }),
        text,
        text,
        fc.array(fc.integer({ min: 0, max: 0x7fff }), { minLength: 1, maxLength: 5 }),
        (tid, code, realm, nonce, unknown) => {
          const distinct = [...new Set(unknown)]
          const theirs = ref.createMessage(TYPES.allocateError, tid)
          theirs.addAttribute(Attr.ErrorCode, code, 'Unauthenticated')
          theirs.addAttribute(Attr.Realm, realm)
          theirs.addAttribute(Attr.Nonce, nonce)
          theirs.addAttribute(Attr.UnknownAttributes, distinct)
          theirs.addAttribute(Attr.Software, 'monsoon')
          const ours = encodeStun({
            method: Method.Allocate,
            cls: MessageClass.Error,
            transactionId: tid,
            attributes: [
              { type: Attr.ErrorCode, value: errorCodeValue(code, 'Unauthenticated') },
              { type: Attr.Realm, value: Buffer.from(realm) },
              { type: Attr.Nonce, value: Buffer.from(nonce) },
              { type: Attr.UnknownAttributes, value: unknownAttributesValue(distinct) },
              { type: Attr.Software, value: Buffer.from('monsoon') },
            ],
          })
          expect(ours.toString('hex')).toBe(theirs.toBuffer().toString('hex'))
        },
      ),
    )
  })

  it('a Send indication (XOR-PEER-ADDRESS, DATA) and a ChannelBind request; we decode theirs', () => {
    fc.assert(
      fc.property(
        tidArb,
        fc.ipV4(),
        fc.integer({ min: 0, max: 0xffff }),
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0x4000, max: 0x4fff }),
        (tid, ip, port, data, channel) => {
          const theirs = ref.createMessage(TYPES.sendIndication, tid)
          theirs.addAttribute(Attr.XorPeerAddress, ip, port)
          theirs.addAttribute(Attr.Data, Buffer.from(data))
          theirs.addAttribute(Attr.ChannelNumber, channel * 0x10000)
          theirs.addAttribute(Attr.RequestedTransport, 17 * 0x1000000)
          const bytes = theirs.toBuffer()
          const msg = decodeStun(bytes)
          expect([msg.method, msg.cls]).toEqual([Method.Send, MessageClass.Indication])
          expect(readXorAddress(attribute(msg, Attr.XorPeerAddress)!, tid)).toEqual({
            family: 4,
            address: ip,
            port,
          })
          expect(attribute(msg, Attr.Data)!.equals(Buffer.from(data))).toBe(true)
          expect(readChannelNumber(attribute(msg, Attr.ChannelNumber)!)).toBe(channel)
          expect(readRequestedTransport(attribute(msg, Attr.RequestedTransport)!)).toBe(17)
          const ours = encodeStun({
            method: Method.Send,
            cls: MessageClass.Indication,
            transactionId: tid,
            attributes: msg.attributes,
          })
          expect(ours.equals(bytes)).toBe(true)
        },
      ),
    )
  })

  it('their decoder reads our XOR-MAPPED-ADDRESS', () => {
    const tid = Buffer.alloc(12, 7)
    const ours = encodeStun({
      method: Method.Binding,
      cls: MessageClass.Success,
      transactionId: tid,
      attributes: [
        { type: Attr.XorMappedAddress, value: xorAddressValue('203.0.113.9', 40000, tid) },
      ],
    })
    expect(ref.decode(ours).getXorAddress()).toMatchObject({ address: '203.0.113.9', port: 40000 })
  })
})

describe('bad input', () => {
  const good = encodeStun(
    {
      method: Method.Binding,
      cls: MessageClass.Request,
      transactionId: Buffer.alloc(12, 1),
      attributes: [{ type: Attr.Software, value: Buffer.from('abcde') }],
    },
    { fingerprint: true },
  )

  it('refuses truncated messages, bad lengths, wrong cookie, non-STUN first bits', () => {
    expect(reason(() => decodeStun(good.subarray(0, 19)))).toBe('truncated')
    expect(reason(() => decodeStun(good.subarray(0, good.length - 4)))).toBe('bad-length')
    const odd = Buffer.from(good)
    odd.writeUInt16BE(good.length - 20 - 2, 2)
    expect(reason(() => decodeStun(odd.subarray(0, good.length - 2)))).toBe('bad-length')
    const cookie = Buffer.from(good)
    cookie[4] ^= 0xff
    expect(reason(() => decodeStun(cookie))).toBe('bad-cookie')
    const top = Buffer.from(good)
    top[0] |= 0x80
    expect(reason(() => decodeStun(top))).toBe('not-stun')
  })

  it('refuses an attribute running past the end, and one after FINGERPRINT', () => {
    const past = Buffer.from(good)
    past.writeUInt16BE(200, 22) // SOFTWARE claims 200 bytes
    expect(reason(() => decodeStun(past))).toBe('attribute-overrun')
    const tail = Buffer.concat([good, Buffer.from([0x80, 0x22, 0, 0])])
    tail.writeUInt16BE(tail.length - 20, 2)
    expect(reason(() => decodeStun(tail))).toBe('after-fingerprint')
  })

  it('stops at MAX_STUN_ATTRIBUTES: 10,000 tiny attributes', () => {
    const many = Buffer.alloc(20 + 4 * 10_000)
    many.writeUInt16BE(messageType(Method.Binding, MessageClass.Request), 0)
    many.writeUInt16BE(4 * 10_000, 2)
    many.writeUInt32BE(0x2112a442, 4)
    for (let i = 0; i < 10_000; i++) many.writeUInt16BE(0x8030, 20 + 4 * i)
    expect(reason(() => decodeStun(many))).toBe('too-many-attributes')
    const fits = Buffer.from(many.subarray(0, 20 + 4 * MAX_STUN_ATTRIBUTES))
    fits.writeUInt16BE(4 * MAX_STUN_ATTRIBUTES, 2)
    expect(decodeStun(fits).attributes).toHaveLength(MAX_STUN_ATTRIBUTES)
  })

  it('refuses bad attribute values and ChannelData', () => {
    expect(reason(() => readXorAddress(Buffer.from([0, 1, 0, 0]), Buffer.alloc(12)))).toBe(
      'bad-attribute',
    )
    expect(reason(() => readXorAddress(Buffer.alloc(8, 0), Buffer.alloc(12)))).toBe('bad-attribute')
    expect(reason(() => readUint32(Buffer.alloc(3)))).toBe('bad-attribute')
    expect(reason(() => decodeChannelData(Buffer.from([0x3f, 0xff, 0, 0])))).toBe(
      'bad-channel-data',
    )
    expect(reason(() => decodeChannelData(Buffer.from([0x40, 0x00, 0, 9, 1])))).toBe(
      'bad-channel-data',
    )
    expect(reason(() => frameLength(Buffer.from([0xc0, 0, 0, 0]), 0))).toBe('not-stun')
    expect(frameLength(Buffer.from([0x40, 0]), 0)).toBe(0)
  })

  it('random bytes and random corruptions only ever raise StunParseError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = reason(() => decodeStun(Buffer.from(bytes)))
        expect(typeof r).toBe('string')
      }),
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: good.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, x) => {
          const bad = Buffer.from(good)
          bad[at] ^= x
          reason(() => decodeStun(bad))
        },
      ),
    )
  })

  it('tells a STUN opening from TLS, HTTP and short input', () => {
    expect(looksLikeStun(good)).toBe(true)
    expect(looksLikeStun(good.subarray(0, 7))).toBe(false)
    expect(looksLikeStun(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(false)
    expect(looksLikeStun(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]))).toBe(false)
    expect(looksLikeStun(encodeChannelData(0x4001, Buffer.alloc(8), true))).toBe(false)
  })

  it('lists unknown comprehension-required attributes only', () => {
    const msg = decodeStun(
      encodeStun({
        method: Method.Allocate,
        cls: MessageClass.Request,
        transactionId: Buffer.alloc(12),
        attributes: [
          { type: Attr.DontFragment, value: Buffer.alloc(0) },
          { type: 0x7777, value: Buffer.alloc(4) },
          { type: 0x7777, value: Buffer.alloc(4) },
          { type: 0x8888, value: Buffer.alloc(4) },
          { type: Attr.Lifetime, value: uint32Value(1) },
        ],
      }),
    )
    expect(unknownRequired(msg, new Set([Attr.Lifetime]))).toEqual([Attr.DontFragment, 0x7777])
  })
})
