import { describe, expect, it } from 'vitest'
import { helloNodeId } from './client.ts'

const ID = 'ab'.repeat(32)
const json = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status })

describe('helloNodeId', () => {
  it("reads the node id of a relay's hello", async () => {
    expect(await helloNodeId(json({ id: ID, urls: ['http://a.test'] }))).toBe(ID)
  })

  it('gives null for what is not a relay hello', async () => {
    expect(await helloNodeId(json({ id: ID }, 404))).toBeNull()
    expect(await helloNodeId(new Response('<html>not JSON</html>'))).toBeNull()
    expect(await helloNodeId(json({ id: ID.toUpperCase() }))).toBeNull()
    expect(await helloNodeId(json({ id: 42 }))).toBeNull()
    expect(await helloNodeId(json(null))).toBeNull()
    const padded = JSON.stringify({ id: ID, pad: 'x'.repeat(20_000) })
    expect(await helloNodeId(new Response(padded))).toBeNull()
  })

  it('passes on a body that fails midway', async () => {
    const broken = new ReadableStream({
      start: (controller) => controller.error(new Error('connection reset')),
    })
    await expect(helloNodeId(new Response(broken))).rejects.toThrow('connection reset')
  })
})
