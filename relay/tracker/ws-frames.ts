// WebSocket text frames for the tracker's answers, offers and answers forwarded, written
// straight to the socket under a ws WebSocket (RFC 6455 §5.2: FIN set, opcode 1, unmasked as
// a server's frames are), header and payload in one Buffer.
//
// ws's own send, for a string, builds an options object and a header Buffer, and writes
// header and text as two chunks that Node then encodes and gathers again: a few per cent of
// the relay's CPU under load, for the same bytes (the tests compare them with ws's). Writing
// beside ws is safe while ws writes each of its own frames whole and at once, which holds
// with no extension negotiated (permessage-deflate's compression queues frames):
// `plainFramesAllowed` says whether a socket may take them, and a test interleaves both on a
// real socket. What is written counts in the socket's writable length, so ws's
// bufferedAmount still sees it. Only ws's public surface is read (`extensions`).

/** What this needs of a socket (net.Socket fits). */
export interface FrameSink {
  write(chunk: Uint8Array): boolean
}

/** Largest payload whose length fits the 7-bit field; up to 0xffff, a 16-bit one follows. */
const SHORT_LENGTH_MAX = 125
const MEDIUM_LENGTH_MAX = 0xffff

/** The whole frame carrying `text` as one text message. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text)
  const header = length <= SHORT_LENGTH_MAX ? 2 : length <= MEDIUM_LENGTH_MAX ? 4 : 10
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = 0x81
  if (header === 2) {
    frame[1] = length
  } else if (header === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    frame.writeUInt32BE(length >>> 0, 6)
  }
  frame.write(text, header, 'utf8')
  return frame
}

/** Writes `text` to `socket` as one text frame. */
export function writeTextFrame(socket: FrameSink, text: string): void {
  socket.write(textFrame(text))
}

/** Whether frames may be written beside a ws WebSocket with these negotiated `extensions`
 * (ws's `extensions` property): only with none. */
export function plainFramesAllowed(extensions: string): boolean {
  return extensions === ''
}
