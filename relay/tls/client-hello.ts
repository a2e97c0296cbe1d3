// The server name (SNI, RFC 6066 §3) and the offered application protocols (ALPN, RFC 7301
// §3.1) of a TLS ClientHello (RFC 8446 §4.1.2), read from the first record before the TLS
// stack sees it: the one port answers ACME's TLS-ALPN-01 challenge (RFC 8737) with another
// certificate than the relay's. Pure: bytes in, a ClientHello or a ClientHelloError out.
//
// Only what sits in the first record is read. A ClientHello split over several records (legal,
// never seen from ACME validators) is refused here and the connection simply gets normal TLS.

/** RFC 8446 §5.1: a record's plaintext is at most 2^14 bytes. */
export const MAX_RECORD_BYTES = 16_384
/** Record header: type (1), legacy version (2), length (2). */
const RECORD_HEADER_BYTES = 5
const CONTENT_HANDSHAKE = 0x16
const HANDSHAKE_CLIENT_HELLO = 0x01
const EXT_SERVER_NAME = 0
const EXT_ALPN = 16
const SNI_HOST_NAME = 0

export interface ClientHello {
  /** The SNI host name, lower case; undefined when none was sent. */
  serverName: string | undefined
  /** ALPN protocol names in the client's order; empty when none were offered. */
  alpn: string[]
}

export class ClientHelloError extends Error {
  override name = 'ClientHelloError'
}

/**
 * Bytes the first record takes (header included), once its header is in `head`; undefined
 * while fewer than 5 bytes are in. Throws ClientHelloError when it is not a handshake record.
 */
export function firstRecordLength(head: Uint8Array): number | undefined {
  if (head.length < RECORD_HEADER_BYTES) return undefined
  if (head[0] !== CONTENT_HANDSHAKE) throw new ClientHelloError('not a TLS handshake record')
  const length = (head[3] << 8) | head[4]
  if (length === 0 || length > MAX_RECORD_BYTES) {
    throw new ClientHelloError(`record length ${length} out of range`)
  }
  return RECORD_HEADER_BYTES + length
}

/** Parses the ClientHello in the first record of `head`. Throws ClientHelloError. */
export function parseClientHello(head: Uint8Array): ClientHello {
  const recordLength = firstRecordLength(head)
  if (recordLength === undefined || head.length < recordLength) {
    throw new ClientHelloError('the first record is incomplete')
  }
  const r = new Reader(head.subarray(RECORD_HEADER_BYTES, recordLength))
  if (r.u8() !== HANDSHAKE_CLIENT_HELLO) throw new ClientHelloError('not a ClientHello')
  const bodyLength = r.u24()
  if (bodyLength > r.left) throw new ClientHelloError('ClientHello spans several records')
  const body = new Reader(r.bytes(bodyLength))
  body.skip(2 + 32) // legacy_version, random
  body.vector(1, 32) // legacy_session_id
  body.vector(2) // cipher_suites
  body.vector(1) // legacy_compression_methods
  const hello: ClientHello = { serverName: undefined, alpn: [] }
  if (body.left === 0) return hello // no extensions (TLS 1.2 and earlier allow it)
  const extensions = new Reader(body.vector(2))
  if (body.left !== 0) throw new ClientHelloError('bytes after the extensions')
  const seen = new Set<number>()
  while (extensions.left > 0) {
    const type = extensions.u16()
    const data = new Reader(extensions.vector(2))
    // RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type".
    if (seen.has(type)) throw new ClientHelloError(`extension ${type} repeated`)
    seen.add(type)
    if (type === EXT_SERVER_NAME) hello.serverName = serverName(data)
    else if (type === EXT_ALPN) hello.alpn = protocols(data)
  }
  return hello
}

/** RFC 6066 §3: a list of (name_type, name); only host_name is defined. */
function serverName(data: Reader): string | undefined {
  const list = new Reader(data.vector(2))
  if (data.left !== 0) throw new ClientHelloError('bytes after server_name_list')
  let name: string | undefined
  while (list.left > 0) {
    const type = list.u8()
    const bytes = list.vector(2)
    if (type !== SNI_HOST_NAME || name !== undefined) continue
    // A host name is ASCII letters, digits, '-', '_' and dots, at most 255 bytes.
    if (bytes.length === 0 || bytes.length > 255 || !bytes.every(isHostNameByte)) {
      throw new ClientHelloError('malformed host_name')
    }
    name = String.fromCharCode(...bytes).toLowerCase()
  }
  return name
}

function isHostNameByte(b: number): boolean {
  return (
    (b >= 0x30 && b <= 0x39) || // 0-9
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x61 && b <= 0x7a) || // a-z
    b === 0x2d || // -
    b === 0x2e || // .
    b === 0x5f // _
  )
}

/** RFC 7301 §3.1: a non-empty list of non-empty protocol names. */
function protocols(data: Reader): string[] {
  const list = new Reader(data.vector(2))
  if (data.left !== 0) throw new ClientHelloError('bytes after protocol_name_list')
  const out: string[] = []
  while (list.left > 0) {
    const name = list.vector(1)
    if (name.length === 0) throw new ClientHelloError('empty ALPN protocol name')
    out.push(String.fromCharCode(...name))
  }
  if (out.length === 0) throw new ClientHelloError('empty ALPN list')
  return out
}

/** Bounds-checked reads from a byte slice. */
class Reader {
  #at = 0
  readonly #bytes: Uint8Array

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes
  }

  get left(): number {
    return this.#bytes.length - this.#at
  }

  skip(n: number): void {
    this.bytes(n)
  }

  bytes(n: number): Uint8Array {
    if (n > this.left) throw new ClientHelloError('truncated')
    const out = this.#bytes.subarray(this.#at, this.#at + n)
    this.#at += n
    return out
  }

  u8(): number {
    return this.bytes(1)[0]
  }

  u16(): number {
    const b = this.bytes(2)
    return (b[0] << 8) | b[1]
  }

  u24(): number {
    const b = this.bytes(3)
    return (b[0] << 16) | (b[1] << 8) | b[2]
  }

  /** A vector with a `lengthBytes`-byte length prefix, at most `max` bytes long. */
  vector(lengthBytes: 1 | 2, max = Infinity): Uint8Array {
    const length = lengthBytes === 1 ? this.u8() : this.u16()
    if (length > max) throw new ClientHelloError(`vector of ${length} bytes exceeds ${max}`)
    return this.bytes(length)
  }
}
