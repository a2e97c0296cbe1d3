// client-hello.ts against ClientHellos that Node's own TLS stack (OpenSSL) sends, against a
// hello built by hand here from RFC 8446 §4.1.2, and against hostile bytes: every failure is
// a ClientHelloError, never another exception.

import { connect } from 'node:tls'
import { createServer, type AddressInfo } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ClientHelloError,
  MAX_RECORD_BYTES,
  firstRecordLength,
  parseClientHello,
} from './client-hello.ts'

/** The first bytes OpenSSL sends for a tls.connect with these options. */
function capturedHello(options: { servername?: string; ALPNProtocols?: string[] }) {
  return new Promise<Buffer>((resolve, reject) => {
    let head = Buffer.alloc(0)
    const server = createServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        head = Buffer.concat([head, chunk])
        const need = firstRecordLength(head)
        if (need !== undefined && head.length >= need) {
          socket.destroy()
          server.close()
          resolve(head)
        }
      })
    })
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      connect({ host: '127.0.0.1', port, ...options }).on('error', () => {})
    })
    server.on('error', reject)
  })
}

const u16 = (n: number) => [n >> 8, n & 0xff]
const vec16 = (bytes: number[]) => [...u16(bytes.length), ...bytes]
const vec8 = (bytes: number[]) => [bytes.length, ...bytes]
const ascii = (s: string) => [...Buffer.from(s, 'latin1')]

/** A ClientHello record built from the spec, with the given extensions (type, data). */
function handHello(extensions: [number, number[]][] | undefined): Uint8Array {
  const body = [
    ...[0x03, 0x03], // legacy_version
    ...new Array<number>(32).fill(7), // random
    ...vec8([]), // legacy_session_id
    ...vec16([0x13, 0x01]), // cipher_suites: TLS_AES_128_GCM_SHA256
    ...vec8([0]), // legacy_compression_methods: null
    ...(extensions
      ? vec16(extensions.flatMap(([type, data]) => [...u16(type), ...vec16(data)]))
      : []),
  ]
  const handshake = [0x01, 0, ...u16(body.length), ...body]
  return Uint8Array.from([0x16, 0x03, 0x01, ...u16(handshake.length), ...handshake])
}

const sni = (name: string) => vec16([0, ...vec16(ascii(name))])
const alpn = (...names: string[]) => vec16(names.flatMap((n) => vec8(ascii(n))))

describe('parseClientHello', () => {
  it("reads SNI and ALPN from OpenSSL's ClientHello", async () => {
    const head = await capturedHello({
      servername: 'Relay.Example.org',
      ALPNProtocols: ['acme-tls/1', 'http/1.1'],
    })
    expect(parseClientHello(head)).toEqual({
      serverName: 'relay.example.org',
      alpn: ['acme-tls/1', 'http/1.1'],
    })
  })

  it('reads a ClientHello without SNI or ALPN', async () => {
    const head = await capturedHello({})
    expect(parseClientHello(head)).toEqual({ serverName: undefined, alpn: [] })
  })

  it('reads the reverse name a validator sends for an IP identifier (RFC 8738 §6)', () => {
    const hello = handHello([
      [0, sni('1.0.0.127.in-addr.arpa')],
      [16, alpn('acme-tls/1')],
    ])
    expect(parseClientHello(hello)).toEqual({
      serverName: '1.0.0.127.in-addr.arpa',
      alpn: ['acme-tls/1'],
    })
  })

  it('accepts a hello without extensions and skips unknown ones', () => {
    expect(parseClientHello(handHello(undefined))).toEqual({ serverName: undefined, alpn: [] })
    expect(
      parseClientHello(
        handHello([
          [0xfafa, [1, 2, 3]],
          [16, alpn('h2')],
        ]),
      ).alpn,
    ).toEqual(['h2'])
  })
})

describe('parseClientHello on bad input', () => {
  const bad = (bytes: Uint8Array | number[], why: RegExp) =>
    expect(() => parseClientHello(Uint8Array.from(bytes))).toThrow(
      expect.objectContaining({ name: 'ClientHelloError', message: expect.stringMatching(why) }),
    )

  it('refuses what is not a ClientHello record', () => {
    bad([0x17, 0x03, 0x03, 0, 1, 0], /not a TLS handshake record/)
    bad([0x16, 0x03, 0x01, 0, 0], /out of range/)
    bad([0x16, 0x03, 0x01, 0xff, 0xff, 1], /out of range/)
    const hello = handHello([[0, sni('a.example')]])
    const serverHello = Uint8Array.from(hello)
    serverHello[5] = 0x02
    bad(serverHello, /not a ClientHello/)
    bad(hello.subarray(0, 20), /incomplete/)
  })

  it('refuses a ClientHello longer than its record (several records)', () => {
    const hello = handHello([[0, sni('a.example')]])
    hello[7] += 1 // handshake length one more than the record holds
    bad(hello, /several records/)
  })

  it('refuses repeated extensions, malformed names and empty ALPN lists', () => {
    bad(
      handHello([
        [0, sni('a.example')],
        [0, sni('b.example')],
      ]),
      /extension 0 repeated/,
    )
    bad(handHello([[0, sni('bad name')]]), /malformed host_name/)
    bad(handHello([[0, sni('caf\u00e9.example')]]), /malformed host_name/)
    bad(handHello([[0, sni('')]]), /malformed host_name/)
    bad(handHello([[16, vec16([])]]), /empty ALPN list/)
    bad(handHello([[16, vec16([0])]]), /empty ALPN protocol name/)
    bad(handHello([[16, [...alpn('h2'), 0]]]), /bytes after protocol_name_list/)
    bad(handHello([[16, [0, 9, 2]]]), /truncated/)
  })

  it('throws only ClientHelloError for every truncation and for random bytes', async () => {
    const real = await capturedHello({ servername: 'x.example', ALPNProtocols: ['acme-tls/1'] })
    const length = firstRecordLength(real)!
    for (let cut = 5; cut < length; cut++) {
      // Shorten the record as its header says, so the parser meets truncated vectors inside.
      const cutHello = Buffer.from(real.subarray(0, cut))
      cutHello.writeUInt16BE(cut - 5, 3)
      if (cut === 5) continue // a zero-length record is refused by firstRecordLength
      expect(() => parseClientHello(cutHello)).toThrow(ClientHelloError)
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (tail) => {
        const bytes = Uint8Array.from([0x16, 0x03, 0x01, ...u16(tail.length), ...tail])
        try {
          parseClientHello(bytes)
        } catch (err) {
          if (!(err instanceof ClientHelloError)) throw err
        }
      }),
    )
  })

  it('bounds the record to 2^14 bytes', () => {
    expect(firstRecordLength(Uint8Array.from([0x16, 3, 1, ...u16(MAX_RECORD_BYTES)]))).toBe(
      MAX_RECORD_BYTES + 5,
    )
    expect(() =>
      firstRecordLength(Uint8Array.from([0x16, 3, 1, ...u16(MAX_RECORD_BYTES + 1)])),
    ).toThrow(ClientHelloError)
    expect(firstRecordLength(Uint8Array.from([0x16, 3, 1, 0]))).toBeUndefined()
  })
})
