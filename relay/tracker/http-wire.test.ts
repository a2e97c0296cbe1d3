import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_FAST_HEAD_BYTES, MAX_FAST_HEADERS } from '../limits.ts'
import { PROXY_HEADER } from '../supernode/announce-proxy.ts'
import {
  HttpDate,
  TOO_MANY_BODY,
  mayBeTrackerHead,
  okResponse,
  readTrackerHead,
  tooManyResponse,
} from './http-wire.ts'

const bytes = (s: string) => Buffer.from(s, 'latin1')
const ANNOUNCE = '/announce?info_hash=%01%02&peer_id=-qB4650-abcdefghijkl&port=6881&compact=1'
const head11 = (fields = 'Host: t.example\r\n', target = ANNOUNCE) =>
  `GET ${target} HTTP/1.1\r\n${fields}\r\n`
const read = (s: string) => readTrackerHead(bytes(s))

describe('readTrackerHead', () => {
  it('reads the target, the connection and the length of a plain announce or scrape', () => {
    const text = head11(
      'Host: t.example\r\nUser-Agent: qBittorrent/4.6.5\r\nAccept-Encoding: gzip\r\n',
    )
    expect(read(text)).toEqual({
      url: ANNOUNCE,
      keepAlive: true,
      proxied: undefined,
      forwardedFor: undefined,
      length: text.length,
    })
    expect(read(head11('Host: a\r\n', '/scrape?info_hash=%01'))?.url).toBe('/scrape?info_hash=%01')
  })

  it('keeps HTTP/1.1 unless `close`, and HTTP/1.0 only with `keep-alive` (RFC 9112 §9.3)', () => {
    expect(read(head11('Host: a\r\nConnection: close\r\n'))?.keepAlive).toBe(false)
    expect(read(head11('Host: a\r\nconnection:   CLOSE \t\r\n'))?.keepAlive).toBe(false)
    expect(read(head11('Host: a\r\nConnection: keep-alive\r\n'))?.keepAlive).toBe(true)
    expect(read(`GET ${ANNOUNCE} HTTP/1.0\r\n\r\n`)?.keepAlive).toBe(false)
    expect(read(`GET ${ANNOUNCE} HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n`)?.keepAlive).toBe(true)
    expect(read(`GET ${ANNOUNCE} HTTP/1.0\r\nConnection: close\r\n\r\n`)?.keepAlive).toBe(false)
  })

  it('reads the first proxy header and joins X-Forwarded-For as node does, values trimmed', () => {
    expect(PROXY_HEADER).toBe('x-monsoon-announce')
    const fields =
      'Host: a\r\nX-Monsoon-Announce:  one \r\nx-monsoon-announce: two\r\n' +
      'X-Forwarded-For: 1.2.3.4 \t\r\nx-forwarded-for:5.6.7.8\r\n'
    expect(read(head11(fields))).toMatchObject({
      proxied: 'one',
      forwardedFor: '1.2.3.4, 5.6.7.8',
    })
  })

  it('ends at the head: pipelined bytes after it are the next request', () => {
    const first = head11()
    expect(read(first + head11() + 'GET /x')?.length).toBe(first.length)
  })

  it('leaves every head that is not whole to the HTTP server', () => {
    const whole = head11('Host: a\r\nUser-Agent: x\r\n')
    for (let n = 0; n < whole.length; n++) expect(read(whole.slice(0, n))).toBeUndefined()
  })

  it('leaves other methods, paths, versions and line ends to the HTTP server', () => {
    for (const text of [
      `POST ${ANNOUNCE} HTTP/1.1\r\nHost: a\r\n\r\n`,
      `HEAD ${ANNOUNCE} HTTP/1.1\r\nHost: a\r\n\r\n`,
      `get ${ANNOUNCE} HTTP/1.1\r\nHost: a\r\n\r\n`,
      'GET /announce HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET /announcex?a HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET /ann%6Funce?a HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET http://a/announce?a HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET /v1/stats?info_hash=a HTTP/1.1\r\nHost: a\r\n\r\n',
      `GET  ${ANNOUNCE} HTTP/1.1\r\nHost: a\r\n\r\n`,
      `GET ${ANNOUNCE}  HTTP/1.1\r\nHost: a\r\n\r\n`,
      `GET ${ANNOUNCE} HTTP/2.0\r\nHost: a\r\n\r\n`,
      `GET ${ANNOUNCE} HTTP/1.2\r\nHost: a\r\n\r\n`,
      `GET ${ANNOUNCE} http/1.1\r\nHost: a\r\n\r\n`,
      `GET ${ANNOUNCE}\r\n\r\n`,
      `GET ${ANNOUNCE} HTTP/1.1\nHost: a\n\n`,
      `GET ${ANNOUNCE} HTTP/1.1\r\nHost: a\n\r\n`,
      `GET ${ANNOUNCE} HTTP/1.1\r\nHost: a\r\n\n`,
      `GET ${ANNOUNCE} HTTP/1.1\r\nHost: a\r\r\n\r\n`,
    ]) {
      expect(read(text), JSON.stringify(text)).toBeUndefined()
    }
  })

  it('leaves bodies, expectations, upgrades and other connection options to the HTTP server', () => {
    for (const field of [
      'Content-Length: 0',
      'content-length: 5',
      'Transfer-Encoding: chunked',
      'Expect: 100-continue',
      'Upgrade: websocket',
      'UPGRADE: h2c',
      'Connection: Upgrade',
      'Connection: keep-alive, close',
      'Connection: close\r\nConnection: close',
      'Connection:',
    ]) {
      expect(read(head11(`Host: a\r\n${field}\r\n`)), field).toBeUndefined()
    }
    // A WebSocket handshake on /announce (the WebTorrent tracker) is the HTTP server's.
    const ws =
      'Host: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
    expect(read(head11(ws, '/announce?x'))).toBeUndefined()
  })

  it('leaves HTTP/1.1 without Host (node answers 400) and malformed fields to the HTTP server', () => {
    expect(read(head11(''))).toBeUndefined()
    expect(read(`GET ${ANNOUNCE} HTTP/1.0\r\n\r\n`)).toBeDefined()
    for (const fields of [
      'Host : a\r\n',
      ' Host: a\r\n',
      'Host: a\r\n folded\r\n',
      ': a\r\nHost: a\r\n',
      'Host a\r\n',
      'Ho(st: a\r\n',
    ]) {
      expect(read(head11(fields)), JSON.stringify(fields)).toBeUndefined()
    }
  })

  it('takes no NUL, control or non-ASCII byte anywhere', () => {
    const whole = head11('Host: a\r\nUser-Agent: x\r\n')
    for (const bad of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      for (let at = 0; at < whole.length; at++) {
        if (whole[at] === '\r' || whole[at] === '\n') continue
        const text = bytes(whole)
        text[at] = bad
        expect(readTrackerHead(text), `${bad} at ${at}`).toBeUndefined()
      }
    }
  })

  it('keeps to its budgets of head bytes and fields', () => {
    const field = (i: number) => `X-${i}: v\r\n`
    const many = (n: number) =>
      'Host: a\r\n' + Array.from({ length: n - 1 }, (_, i) => field(i)).join('')
    expect(read(head11(many(MAX_FAST_HEADERS)))).toBeDefined()
    expect(read(head11(many(MAX_FAST_HEADERS + 1)))).toBeUndefined()
    const padding = (n: number) => `Host: a\r\nX-Pad: ${'p'.repeat(n)}\r\n`
    const base = head11(padding(0)).length
    expect(read(head11(padding(MAX_FAST_HEAD_BYTES - base)))).toBeDefined()
    expect(read(head11(padding(MAX_FAST_HEAD_BYTES - base + 1)))).toBeUndefined()
  })

  it('reads any head of token names and printable values built per RFC 9112', () => {
    const tchar = fc.constantFrom(..."!#$%&'*+-.^_`|~0123456789abcdefXYZ")
    const name = fc
      .string({ unit: tchar, minLength: 1, maxLength: 12 })
      .filter(
        (n) =>
          !/^(host|connection|content-length|transfer-encoding|expect|upgrade|x-monsoon-announce|x-forwarded-for)$/i.test(
            n,
          ),
      )
    const value = fc
      .string({
        unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
        maxLength: 30,
      })
      .map((v) => v.trim())
    const target = fc
      .string({
        unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
        maxLength: 200,
      })
      .map((q) => `/announce?${q}`)
    fc.assert(
      fc.property(
        target,
        fc.array(fc.tuple(name, value), { maxLength: 10 }),
        fc.boolean(),
        (url, fields, close) => {
          const lines = ['Host: a', ...fields.map(([n, v]) => `${n}: ${v}`)]
          if (close) lines.push('Connection: close')
          const text = `GET ${url} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`
          const head = read(text + 'GET /next')
          expect(head).toMatchObject({ url, keepAlive: !close, length: text.length })
        },
      ),
    )
  })
})

describe('mayBeTrackerHead', () => {
  it('is true of every cut-off start of a head readTrackerHead takes, and of no whole one', () => {
    for (const whole of [head11(), head11('Host: t\r\n', '/scrape?info_hash=%01')]) {
      for (let n = 1; n < whole.length; n++) {
        expect(mayBeTrackerHead(bytes(whole.slice(0, n)))).toBe(true)
      }
      expect(mayBeTrackerHead(bytes(whole))).toBe(false)
    }
  })

  it('is false of nothing, other requests, ended heads and anything at the cap', () => {
    expect(mayBeTrackerHead(bytes(''))).toBe(false)
    expect(mayBeTrackerHead(bytes('POST /announce?'))).toBe(false)
    expect(mayBeTrackerHead(bytes('GET /health HTTP/1.1\r\n'))).toBe(false)
    expect(mayBeTrackerHead(bytes('\r\n'))).toBe(false)
    expect(mayBeTrackerHead(bytes(head11('Content-Length: 0\r\n')))).toBe(false)
    expect(mayBeTrackerHead(bytes(`GET /announce?${'a'.repeat(MAX_FAST_HEAD_BYTES)}`))).toBe(false)
  })

  it('never holds bytes readTrackerHead would take now', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (tail) => {
        const b = bytes(`GET /announce?${tail}`)
        if (readTrackerHead(b) !== undefined) expect(mayBeTrackerHead(b)).toBe(false)
      }),
    )
  })
})

describe('answers', () => {
  const DATE = 'Sun, 06 Dec 2026 20:06:44 GMT'

  it('frames a 200 as node writes it, closed or kept', () => {
    const body = bytes('d8:completei0ee')
    expect(okResponse(body, false, DATE, 5).toString('latin1')).toBe(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n' +
        `Date: ${DATE}\r\nConnection: close\r\n\r\nd8:completei0ee`,
    )
    expect(okResponse(body, true, DATE, 5).toString('latin1')).toBe(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n' +
        `Date: ${DATE}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nd8:completei0ee`,
    )
    expect(okResponse(body, true, DATE, 0).toString('latin1')).toContain(
      'Keep-Alive: timeout=0\r\n',
    )
    expect(okResponse(body, true, DATE, undefined).toString('latin1')).not.toContain('Keep-Alive')
  })

  it('ends a 200 with its body, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), fc.boolean(), (body, keep) => {
        const out = okResponse(body, keep, DATE, 5)
        const split = out.indexOf('\r\n\r\n') + 4
        expect(out.subarray(split)).toEqual(Buffer.from(body))
        expect(out.subarray(0, split).toString('latin1')).toContain(
          `Content-Length: ${body.length}\r\n`,
        )
      }),
    )
  })

  it('frames the 429 as one chunk, closed', () => {
    const text = tooManyResponse(DATE).toString('latin1')
    expect(text).toBe(
      'HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nRetry-After: 1\r\n' +
        `Connection: close\r\nDate: ${DATE}\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `2f\r\n${TOO_MANY_BODY}\r\n0\r\n\r\n`,
    )
  })

  it('writes Date as node does, made once a second', () => {
    const date = new HttpDate()
    const at = Date.UTC(2026, 11, 6, 20, 6, 44, 250)
    expect(date.at(at)).toBe(new Date(at).toUTCString())
    expect(date.at(at + 700)).toBe(date.at(at))
    expect(date.at(at + 750)).toBe('Sun, 06 Dec 2026 20:06:45 GMT')
  })
})
