import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { plainFramesAllowed, textFrame, writeTextFrame } from './ws-frames.ts'

/** ws's frame writer (its typings leave it out). */
const { Sender } = createRequire(import.meta.url)('ws') as {
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
    ): Buffer[]
  }
}

/** The frame ws's own Sender makes of `text` as a server's text message. */
function wsFrame(text: string): Buffer {
  const list = Sender.frame(Buffer.from(text), {
    fin: true,
    opcode: 1,
    mask: false,
    readOnly: false,
    rsv1: false,
  })
  return Buffer.concat(list)
}

describe('textFrame', () => {
  it('is byte for byte the frame ws sends, at every length field size', () => {
    for (const n of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const text = 'x'.repeat(n)
      expect(textFrame(text).equals(wsFrame(text))).toBe(true)
    }
  })

  it('is byte for byte the frame ws sends, for any text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        expect(textFrame(text).equals(wsFrame(text))).toBe(true)
      }),
    )
  })

  it('counts the payload in UTF-8 bytes, not characters', () => {
    // A binary id char past 0x7f takes two bytes; 100 of them pass the 7-bit length.
    const frame = textFrame('\u00ff'.repeat(100))
    expect(frame[1]).toBe(126)
    expect(frame.readUInt16BE(2)).toBe(200)
  })
})

describe('plainFramesAllowed', () => {
  it('allows them only with no extension negotiated', () => {
    expect(plainFramesAllowed('')).toBe(true)
    expect(plainFramesAllowed('permessage-deflate')).toBe(false)
  })
})

describe('writeTextFrame beside ws', () => {
  it('reaches a real client whole and in order, interleaved with ws.send', async () => {
    const wss = new WebSocketServer({ noServer: true })
    const server = createServer()
    const sent = [
      'first',
      '\u0000\u00ff binary id \u00e9',
      'y'.repeat(300),
      '€ and 𝄞',
      'z'.repeat(70_000),
    ]
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        expect(plainFramesAllowed(ws.extensions)).toBe(true)
        sent.forEach((text, i) => (i % 2 ? ws.send(text) : writeTextFrame(socket, text)))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const client = new WebSocket(`ws://127.0.0.1:${port}/`)
    const received: string[] = []
    await new Promise<void>((resolve, reject) => {
      client.on('message', (data, isBinary) => {
        expect(isBinary).toBe(false)
        received.push(data.toString())
        if (received.length === sent.length) resolve()
      })
      client.on('error', reject)
    })
    expect(received).toEqual(sent)
    client.close()
    wss.close()
    await new Promise((resolve) => server.close(resolve))
  })
})
