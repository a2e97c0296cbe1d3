// ProxyResponseReader: answers as an owner writes them, read back whole however the bytes are
// split, and every malformed or oversized answer refused by name, holding no more than its caps.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_PROXY_ANSWER_BYTES, MAX_PROXY_HEAD_BYTES } from '../limits.ts'
import { ProxyAnswerError, ProxyResponseReader, type ProxyAnswer } from './proxy-response.ts'

interface Sent {
  status: number
  body: Buffer
  fields: string[]
  keepAlive: boolean
}

/** The bytes of one answer, as node's server (or the fast path) frames it. */
function frame({ status, body, fields }: Sent): Buffer {
  const head = [`HTTP/1.1 ${status} Whatever`, ...fields, `Content-Length: ${body.length}`]
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body])
}

const ok = (body: string, fields: string[] = []): Buffer =>
  frame({ status: 200, body: Buffer.from(body), fields, keepAlive: true })

/** Reads `bytes` pushed in the pieces `cuts` (ascending offsets) make. */
function readSplit(bytes: Buffer, cuts: number[], reader = new ProxyResponseReader()) {
  const answers: ProxyAnswer[] = []
  let at = 0
  for (const cut of [...cuts, bytes.length]) {
    answers.push(...reader.push(bytes.subarray(at, cut)))
    at = cut
  }
  return { answers, reader }
}

const sentAnswer = fc.record({
  status: fc.integer({ min: 100, max: 599 }),
  body: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fields: fc.array(
    fc.constantFrom('Content-Type: text/plain', 'Date: Thu, 01 Jan 1970 00:00:00 GMT', 'X-A:b'),
    { maxLength: 3 },
  ),
  keepAlive: fc.boolean(),
})

describe('ProxyResponseReader', () => {
  it('reads back any run of answers, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(sentAnswer, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (sent, rawCuts) => {
          const withConnection = sent.map((s) => ({
            ...s,
            fields: [...s.fields, s.keepAlive ? 'Connection: keep-alive' : 'connection: Close'],
          }))
          const bytes = Buffer.concat(withConnection.map(frame))
          const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          )
          const { answers, reader } = readSplit(bytes, cuts)
          expect(answers).toEqual(
            sent.map((s) => ({ status: s.status, body: s.body, keepAlive: s.keepAlive })),
          )
          expect(reader.idle).toBe(true)
        },
      ),
    )
  })

  it('reads two answers split at every byte, and byte by byte', () => {
    const bytes = Buffer.concat([ok('d8:intervali1800ee'), ok('d5:peers0:e')])
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { answers } = readSplit(bytes, [cut])
      expect(answers.map((a) => a.body.toString())).toEqual(['d8:intervali1800ee', 'd5:peers0:e'])
    }
    const cuts = Array.from({ length: bytes.length }, (_, i) => i)
    expect(readSplit(bytes, cuts).answers).toHaveLength(2)
  })

  it('is not idle while an answer is part read', () => {
    const reader = new ProxyResponseReader()
    const bytes = ok('abc')
    expect(reader.push(bytes.subarray(0, 5))).toEqual([])
    expect(reader.idle).toBe(false)
    expect(reader.push(bytes.subarray(5, bytes.length - 1))).toEqual([])
    expect(reader.idle).toBe(false)
    expect(reader.push(bytes.subarray(bytes.length - 1))).toHaveLength(1)
    expect(reader.idle).toBe(true)
  })

  it('keeps HTTP/1.0 answers only when they say keep-alive', () => {
    const reader = new ProxyResponseReader()
    const [a] = reader.push(Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'))
    expect(a.keepAlive).toBe(false)
    const [b] = reader.push(
      Buffer.from('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n'),
    )
    expect(b.keepAlive).toBe(true)
  })

  const refused: [string, string | Buffer][] = [
    ['no status line', 'HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a status of two digits', 'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n'],
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n'],
    ['no Content-Length', 'HTTP/1.1 200 OK\r\n\r\n'],
    ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n'],
    ['two lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx'],
    ['a negative length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
    ['a length list', 'HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx'],
    ['a huge length', 'HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n'],
    [
      'a length over the cap',
      `HTTP/1.1 200 OK\r\nContent-Length: ${MAX_PROXY_ANSWER_BYTES + 1}\r\n\r\n`,
    ],
    ['a field with no colon', 'HTTP/1.1 200 OK\r\nContent-Length 0\r\n\r\n'],
    ['a folded field', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n X: y\r\n\r\n'],
    ['a bare LF', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n'],
    ['a NUL in a value', 'HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n'],
    [
      'a byte over 0x7e',
      Buffer.from('HTTP/1.1 200 OK\r\nX: \xff\r\nContent-Length: 0\r\n\r\n', 'latin1'),
    ],
    ['a head over the cap', `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_PROXY_HEAD_BYTES)}\r\n\r\n`],
  ]
  for (const [name, bytes] of refused) {
    it(`refuses ${name}, whole or split at every byte`, () => {
      const all = Buffer.from(bytes)
      expect(() => new ProxyResponseReader().push(all)).toThrow(ProxyAnswerError)
      for (let cut = 0; cut <= all.length; cut++) {
        expect(() => readSplit(all, [cut])).toThrow(ProxyAnswerError)
      }
    })
  }

  it('refuses a head that never ends once it reaches the cap, holding no more', () => {
    const reader = new ProxyResponseReader()
    const piece = Buffer.from('HTTP/1.1 200 OK\r\nX: ' + 'a'.repeat(1000))
    let pushed = 0
    expect(() => {
      for (;;) {
        reader.push(piece)
        pushed += piece.length
        expect(pushed).toBeLessThan(MAX_PROXY_HEAD_BYTES + piece.length)
      }
    }).toThrow(ProxyAnswerError)
  })

  it('takes an answer of exactly the cap', () => {
    const body = Buffer.alloc(MAX_PROXY_ANSWER_BYTES, 1)
    const [answer] = new ProxyResponseReader().push(
      frame({ status: 200, body, fields: [], keepAlive: true }),
    )
    expect(answer.body.equals(body)).toBe(true)
  })
})
