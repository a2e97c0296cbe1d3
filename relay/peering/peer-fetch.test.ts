import { createServer, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { MAX_PEER_JSON_CONTAINERS, MAX_PEER_JSON_DEPTH } from '../limits.ts'
import { PeerError, fetchPeerJsonDirect, jsonShapeProblem, parsePeerJson } from './peer-fetch.ts'

/** Depth and container count of a parsed value: the reference the scan must agree with. */
function shape(value: unknown): { depth: number; containers: number } {
  if (value === null || typeof value !== 'object') return { depth: 0, containers: 0 }
  const children = Array.isArray(value) ? value : Object.values(value)
  let depth = 0
  let containers = 1
  for (const child of children) {
    const s = shape(child)
    depth = Math.max(depth, s.depth)
    containers += s.containers
  }
  return { depth: depth + 1, containers }
}

const servers: Server[] = []

function serve(body: string): Promise<string> {
  const server = createServer((_, res) => res.end(body))
  servers.push(server)
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}/x`)
    }),
  )
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

describe('parsePeerJson', () => {
  it('parses what a relay sends', () => {
    const page = {
      listings: [{ name: 'a [b] {c} "d"', fileList: [{ path: 'x\\"]]]]', size: 1 }] }],
      next: 3,
      more: false,
      stats: { ab: { seeds: 1 } },
    }
    expect(parsePeerJson(JSON.stringify(page), 'peer')).toEqual(page)
  })

  it('refuses nesting past the cap before parsing, whatever the size', () => {
    const deep = '['.repeat(MAX_PEER_JSON_DEPTH + 1) + ']'.repeat(MAX_PEER_JSON_DEPTH + 1)
    expect(() => parsePeerJson(deep, 'peer')).toThrow(PeerError)
    expect(() => parsePeerJson(deep, 'peer')).toThrow(/nests deeper than 16/)
    const ok = '['.repeat(MAX_PEER_JSON_DEPTH) + ']'.repeat(MAX_PEER_JSON_DEPTH)
    expect(shape(parsePeerJson(ok, 'peer')).depth).toBe(MAX_PEER_JSON_DEPTH)
    // 8 MB of opening brackets, unclosed: refused at the 17th byte.
    expect(jsonShapeProblem('['.repeat(8 * 1024 * 1024))).toMatch(/deeper/)
  })

  it('refuses a flood of objects and arrays', () => {
    const flat = `[${Array(MAX_PEER_JSON_CONTAINERS).fill('{}').join(',')}]`
    expect(() => parsePeerJson(flat, 'peer')).toThrow(/objects and arrays/)
    const under = `[${Array(MAX_PEER_JSON_CONTAINERS - 1)
      .fill('{}')
      .join(',')}]`
    expect(parsePeerJson(under, 'peer')).toHaveLength(MAX_PEER_JSON_CONTAINERS - 1)
  })

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: '\\"[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{' })
    expect(jsonShapeProblem(text, 2, 10)).toBeNull()
    expect(jsonShapeProblem('["\\\\", [[1]]]', 2, 10)).toMatch(/deeper/)
    // Runs of backslashes before a quote: odd escapes it, even closes the string.
    for (let run = 0; run < 6; run++) {
      const s = `["${'\\'.repeat(run)}"` + (run % 2 ? '[[[["]' : ',[[[1]]]]')
      expect(jsonShapeProblem(s, 2, 10) === null).toBe(run % 2 === 1)
    }
    // An unterminated string holds the rest of the text: the parse refuses it.
    expect(jsonShapeProblem('["abc\\", [[[[[', 2, 10)).toBeNull()
    expect(() => parsePeerJson('["abc\\", [[[[[', 'peer')).toThrow(/bad JSON/)
  })

  it('agrees with a walk of every character, on text of brackets, quotes and backslashes', () => {
    const walk = (text: string, maxDepth: number) => {
      let depth = 0
      let inString = false
      for (let i = 0; i < text.length; i++) {
        const c = text[i]
        if (inString) {
          if (c === '\\') i++
          else if (c === '"') inString = false
        } else if (c === '"') inString = true
        else if (c === '[' || c === '{') {
          if (++depth > maxDepth) return false
        } else if (c === ']' || c === '}') depth--
      }
      return true
    }
    const text = fc.string({
      unit: fc.constantFrom('[', ']', '{', '"', '\\', 'a', ','),
      maxLength: 60,
    })
    fc.assert(
      fc.property(text, fc.nat(4), (t, depth) => {
        expect(jsonShapeProblem(t, depth, 1000) === null).toBe(walk(t, depth))
      }),
      { numRuns: 1000 },
    )
  })

  it('agrees with the parsed value on depth and count, for any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.nat(8), fc.nat(40), (value, depth, count) => {
        const text = JSON.stringify(value)
        const real = shape(value)
        const problem = jsonShapeProblem(text, depth, count)
        expect(problem === null).toBe(real.depth <= depth && real.containers <= count)
      }),
      { numRuns: 300 },
    )
  })

  it('says bad JSON is bad JSON', () => {
    expect(() => parsePeerJson('{"a":', 'peer')).toThrow(/bad JSON/)
  })
})

describe('fetchPeerJsonDirect', () => {
  it('refuses an 8 MB nesting bomb from a peer without building it', async () => {
    const url = await serve('['.repeat(4 * 1024 * 1024) + ']'.repeat(4 * 1024 * 1024))
    const before = process.memoryUsage().heapUsed
    await expect(fetchPeerJsonDirect(url, { timeoutMs: 10_000, maxBytes: 9e6 })).rejects.toThrow(
      /nests deeper/,
    )
    // The body itself (8 MB, as a string and its chunks) is all it held: no 4M arrays.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(100 * 1024 * 1024)
  })

  it('still reads an honest answer', async () => {
    const url = await serve('{"listings":[],"next":0,"more":false,"epoch":"ab"}')
    expect(await fetchPeerJsonDirect(url, { timeoutMs: 10_000, maxBytes: 1000 })).toMatchObject({
      epoch: 'ab',
    })
  })
})
