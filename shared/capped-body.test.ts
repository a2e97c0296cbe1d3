import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { BodyTooLargeError, readCappedBody, readCappedText } from './capped-body.ts'

/** A stream of `chunks`, noting whether the reader cancelled it. */
function streamOf(chunks: Uint8Array[], failAfter = Infinity) {
  const state = { cancelled: false, pulled: 0 }
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= failAfter) return controller.error(new Error('connection reset'))
      const next = chunks[state.pulled++]
      if (next) controller.enqueue(next)
      else controller.close()
    },
    cancel() {
      state.cancelled = true
    },
  })
  return { stream, state }
}

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill)

describe('readCappedBody', () => {
  it('reads a body under the cap', async () => {
    expect(await readCappedBody(new Response(bytes(10)), 11)).toEqual(bytes(10))
  })

  it('reads a body of exactly the cap', async () => {
    expect(await readCappedBody(new Response(bytes(10)), 10)).toEqual(bytes(10))
  })

  it('refuses a body one byte over the cap, and cancels the rest', async () => {
    const { stream, state } = streamOf([bytes(6), bytes(5), bytes(1000)])
    await expect(readCappedBody(stream, 10)).rejects.toThrow(BodyTooLargeError)
    expect(state.cancelled).toBe(true)
    expect(state.pulled).toBeLessThan(3)
  })

  it('refuses a declared Content-Length over the cap before reading', async () => {
    const { stream, state } = streamOf([bytes(4)])
    const res = new Response(stream, { headers: { 'content-length': '11' } })
    const err = await readCappedBody(res, 10).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BodyTooLargeError)
    expect(err).toMatchObject({ maxBytes: 10, declared: 11 })
    expect(state.pulled).toBe(0)
  })

  it('counts the bytes of a body without a Content-Length', async () => {
    const { stream } = streamOf([bytes(3), bytes(3), bytes(3)])
    expect((await readCappedBody(new Response(stream), 9)).length).toBe(9)
    const over = streamOf([bytes(3), bytes(3), bytes(3), bytes(1)])
    await expect(readCappedBody(new Response(over.stream), 9)).rejects.toMatchObject({
      name: 'BodyTooLargeError',
      declared: undefined,
    })
  })

  it('counts the bytes of a body whose Content-Length lies low', async () => {
    const { stream, state } = streamOf([bytes(8), bytes(8)])
    const res = new Response(stream, { headers: { 'content-length': '2' } })
    await expect(readCappedBody(res, 10)).rejects.toThrow('answer is over 10 bytes')
    expect(state.cancelled).toBe(true)
  })

  it('passes on the error of a stream that fails midway', async () => {
    const { stream } = streamOf([bytes(3), bytes(3)], 1)
    await expect(readCappedBody(stream, 100)).rejects.toThrow('connection reset')
  })

  it('reads a Response of another class (a swapped global), its Content-Length too', async () => {
    const own = new Response(bytes(4), { headers: { 'content-length': '4' } })
    const foreign = { headers: own.headers, body: own.body } as Response
    expect(foreign).not.toBeInstanceOf(Response)
    await expect(readCappedBody(foreign, 3)).rejects.toMatchObject({ declared: 4 })
    const again = new Response(bytes(4))
    expect(
      await readCappedBody({ headers: again.headers, body: again.body } as Response, 4),
    ).toEqual(bytes(4))
  })

  it('reads no body as empty', async () => {
    expect(await readCappedBody(new Response(null), 0)).toEqual(new Uint8Array(0))
    expect(await readCappedBody(null, 10)).toEqual(new Uint8Array(0))
  })

  it('refuses a cap that is not a byte count', async () => {
    for (const cap of [-1, 1.5, NaN, Infinity]) {
      await expect(readCappedBody(new Response('x'), cap)).rejects.toThrow(RangeError)
    }
  })

  it('returns every byte, in order, whenever the total is within the cap', async () => {
    const chunk = fc.uint8Array({ minLength: 1, maxLength: 64 })
    await fc.assert(
      fc.asyncProperty(fc.array(chunk, { maxLength: 8 }), fc.nat(600), async (chunks, cap) => {
        const all = new Uint8Array(chunks.flatMap((c) => [...c]))
        const read = readCappedBody(streamOf(chunks).stream, cap)
        if (all.length <= cap) expect(await read).toEqual(all)
        else await expect(read).rejects.toThrow(BodyTooLargeError)
      }),
    )
  })
})

describe('readCappedText', () => {
  it('decodes UTF-8, a multi-byte character split over two chunks too', async () => {
    const euro = new TextEncoder().encode('€') // e2 82 ac
    const { stream } = streamOf([euro.subarray(0, 1), euro.subarray(1)])
    expect(await readCappedText(stream, 3)).toBe('€')
  })

  it('counts bytes, not characters', async () => {
    await expect(readCappedText(new Response('€€'), 5)).rejects.toThrow(BodyTooLargeError)
  })
})
