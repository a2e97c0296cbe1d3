// The answers to proxied announces, read off a kept, pipelined connection to an owner
// (proxy-client.ts): HTTP/1.1 responses (RFC 9112 §4 status line, §5 fields, §6.3 message
// body length) read one after another from the bytes as they come, split anywhere.
//
// Only what an owner's tracker writes is taken: a status line, fields, and a body framed by
// exactly one Content-Length. Transfer-Encoding, a missing or repeated length, a head or body
// over its cap, bytes that are not printable ASCII in the head: the connection is unusable
// (ProxyAnswerError), and the client drops it. An owner is another relay, not trusted to be
// well behaved: nothing it sends can make this hold more than one head and one body's cap.

import { MAX_PROXY_ANSWER_BYTES, MAX_PROXY_HEAD_BYTES } from '../limits.ts'

export class ProxyAnswerError extends Error {
  override name = 'ProxyAnswerError'
}

export interface ProxyAnswer {
  status: number
  body: Buffer
  /** Whether the owner keeps the connection open after this answer (RFC 9112 §9.3). */
  keepAlive: boolean
}

interface Head {
  status: number
  length: number
  keepAlive: boolean
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1')
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [\t\x20-\x7e]*)?$/
const FIELD = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[\t ]*([\t\x20-\x7e]*?)[\t ]*$/

/** Reads responses from a byte stream; `push` each chunk as it is read, in order. */
export class ProxyResponseReader {
  readonly #maxBody: number
  readonly #maxHead: number
  /** Bytes read but not yet part of a whole answer. */
  #buffered: Buffer = Buffer.alloc(0)
  /** The head of the answer whose body is still coming. */
  #head: Head | undefined

  constructor(maxBody = MAX_PROXY_ANSWER_BYTES, maxHead = MAX_PROXY_HEAD_BYTES) {
    this.#maxBody = maxBody
    this.#maxHead = maxHead
  }

  /** True when no answer is part read: a close now cuts no answer short. */
  get idle(): boolean {
    return this.#buffered.length === 0 && this.#head === undefined
  }

  /** The answers `chunk` completes, in order; throws ProxyAnswerError on bytes no answer is. */
  push(chunk: Buffer): ProxyAnswer[] {
    let bytes = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk])
    const answers: ProxyAnswer[] = []
    for (;;) {
      if (this.#head === undefined) {
        // A head split over reads is searched again from where it could end.
        const end = bytes.indexOf(HEAD_END)
        if (end === -1) {
          if (bytes.length >= this.#maxHead) throw new ProxyAnswerError('answer head too long')
          break
        }
        if (end + HEAD_END.length > this.#maxHead) {
          throw new ProxyAnswerError('answer head too long')
        }
        this.#head = this.#readHead(bytes.toString('latin1', 0, end))
        bytes = bytes.subarray(end + HEAD_END.length)
      }
      const { status, length, keepAlive } = this.#head
      if (bytes.length < length) break
      // Copied: the answer outlives the read that brought it, which may be large.
      answers.push({ status, body: Buffer.from(bytes.subarray(0, length)), keepAlive })
      bytes = bytes.subarray(length)
      this.#head = undefined
    }
    // Kept only up to one head or one body, both capped.
    this.#buffered = bytes.length === 0 ? Buffer.alloc(0) : Buffer.from(bytes)
    return answers
  }

  #readHead(text: string): Head {
    const lines = text.split('\r\n')
    const status = STATUS_LINE.exec(lines[0])
    if (!status) throw new ProxyAnswerError('bad status line')
    const minor = Number(status[1])
    let length: number | undefined
    let connection: string | undefined
    for (let i = 1; i < lines.length; i++) {
      const field = FIELD.exec(lines[i])
      if (!field) throw new ProxyAnswerError('bad header field')
      const name = field[1].toLowerCase()
      const value = field[2]
      if (name === 'content-length') {
        if (length !== undefined) throw new ProxyAnswerError('more than one Content-Length')
        if (!/^\d{1,10}$/.test(value)) throw new ProxyAnswerError('bad Content-Length')
        length = Number(value)
        if (length > this.#maxBody) {
          throw new ProxyAnswerError(`answer over ${this.#maxBody} bytes`)
        }
      } else if (name === 'transfer-encoding') {
        throw new ProxyAnswerError('Transfer-Encoding is not read here')
      } else if (name === 'connection') {
        connection = (connection === undefined ? '' : `${connection},`) + value.toLowerCase()
      }
    }
    if (length === undefined) throw new ProxyAnswerError('no Content-Length')
    const tokens = connection?.split(',').map((t) => t.trim()) ?? []
    const keepAlive = minor === 1 ? !tokens.includes('close') : tokens.includes('keep-alive')
    return { status: Number(status[2]), length, keepAlive }
  }
}
