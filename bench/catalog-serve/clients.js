// Browsers syncing the catalog from scratch, for bench/catalog-serve, run as their own process:
//   node clients.js PORT FIRST COUNT [--timeout S]
// COUNT clients (numbered from FIRST, each from a loopback address of its own, 127.1.x.y,
// on one keep-alive connection as a browser keeps to one origin) all start at once and pull
// `GET /v1/listings?after=…&limit=1000` until `more` is false, sending Chrome's
// Accept-Encoding. A 429 or 503 is retried after its Retry-After, an error after 0.1 s.
// Prints one JSON line: pages, bytes on the wire and decoded, retries, each client's time.
//
// Decoding is the generator's cost, not the relay's, so a compressed page is decoded once per
// ETag in this process (a strong ETag names exact bytes) and checked there (listings counted,
// epoch the same); an identity page's `next` and `more` are read from its tail (the keys after
// the listings, before `stats`), its listings counted by their cursors, which are contiguous
// in the benchmark's freshly filled store.

import { Agent, get } from 'node:http'
import { parseArgs } from 'node:util'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { timeout: { type: 'string', default: '900' } },
})
const [PORT, FIRST, COUNT] = positionals.map(Number)
const DEADLINE = performance.now() + Number(values.timeout) * 1000
const PAGE = 1000
/** What Chrome sends. */
const ACCEPT_ENCODING = 'gzip, deflate, br, zstd'

const tally = { pages: 0, wire: 0, json: 0, retried: {}, failed: 0, decoded: 0 }
const finishMs = []
/** Pages decoded, by ETag: what their JSON says. */
const byTag = new Map()
let epoch = null

const addressOf = (i) => `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function request(agent, localAddress, after) {
  return new Promise((resolve) => {
    const req = get(
      {
        host: '127.0.0.1',
        port: PORT,
        path: `/v1/listings?after=${after}&limit=${PAGE}`,
        agent,
        localAddress,
        headers: { 'Accept-Encoding': ACCEPT_ENCODING, Accept: 'application/json' },
      },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }))
        res.on('error', (err) => resolve({ error: err.code ?? err.message }))
      },
    )
    req.on('error', (err) => resolve({ error: err.code ?? err.message }))
    // Nothing answered by the deadline: given up, like the rest of the run.
    req.setTimeout(Math.max(1, DEADLINE - performance.now()), () => req.destroy())
  })
}

/** `{ next, more, count, jsonBytes }` of a page, checked. */
function readPage(res, body, after) {
  const coding = res.headers['content-encoding']
  const tag = res.headers.etag
  if (coding && tag && byTag.has(tag)) return byTag.get(tag)
  let page
  if (coding) {
    const json = coding === 'br' ? brotliDecompressSync(body) : gunzipSync(body)
    const value = JSON.parse(json.toString())
    if (value.listings.length !== value.next - after && value.listings.length > 0) {
      throw new Error(`page after ${after}: ${value.listings.length} listings, next ${value.next}`)
    }
    if (typeof value.stats !== 'object') throw new Error('page without stats')
    page = { next: value.next, more: value.more, count: value.listings.length }
    page.jsonBytes = json.length
    page.epoch = value.epoch
    tally.decoded++
    if (tag) byTag.set(tag, page)
  } else {
    const text = body.toString('latin1')
    const tail = text.slice(0, text.lastIndexOf('"stats":'))
    const next = Number(/"next":(\d+)/.exec(tail.slice(tail.lastIndexOf('"next":')))?.[1])
    const more = tail.slice(tail.lastIndexOf('"more":') + 7).startsWith('true')
    const ep = /"epoch":"([^"]*)"/.exec(tail.slice(tail.lastIndexOf('"epoch":')))?.[1]
    if (!Number.isSafeInteger(next)) throw new Error(`page after ${after}: no next`)
    page = { next, more, count: next - after, jsonBytes: body.length, epoch: ep }
  }
  epoch ??= page.epoch
  if (page.epoch !== epoch) throw new Error(`epoch changed: ${page.epoch}`)
  return page
}

async function client(i) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const localAddress = addressOf(i)
  const t0 = performance.now()
  let after = 0
  let listings = 0
  while (performance.now() < DEADLINE) {
    const got = await request(agent, localAddress, after)
    if (got.error) {
      tally.retried[got.error] = (tally.retried[got.error] ?? 0) + 1
      // The relay is gone (a run stopped midway): give up rather than knock forever.
      if (got.error === 'ECONNREFUSED' && tally.retried.ECONNREFUSED > 100 * COUNT) break
      // A keep-alive connection the relay closed as it was reused: a browser asks again at once.
      await sleep(100)
      continue
    }
    const { res, body } = got
    tally.wire += body.length
    if (res.statusCode === 429 || res.statusCode === 503) {
      tally.retried[res.statusCode] = (tally.retried[res.statusCode] ?? 0) + 1
      await sleep(1000 * (Number(res.headers['retry-after']) || 1))
      continue
    }
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} after ${after}`)
    const page = readPage(res, body, after)
    tally.pages++
    tally.json += page.jsonBytes
    listings += page.count
    after = page.next
    if (!page.more) {
      finishMs.push(performance.now() - t0)
      agent.destroy()
      return listings
    }
  }
  tally.failed++
  agent.destroy()
  return listings
}

/** The figures so far: printed when every client is done, or at the deadline. */
function report(counts) {
  process.stdout.write(
    JSON.stringify({
      clients: COUNT,
      finished: finishMs.length,
      listings_each: counts ? [Math.min(...counts), Math.max(...counts)] : null,
      pages: tally.pages,
      wire_bytes: tally.wire,
      json_bytes: tally.json,
      decoded_pages: tally.decoded,
      retried: tally.retried,
      timed_out: COUNT - finishMs.length,
      finish_ms: finishMs.map(Math.round),
    }) + '\n',
    () => process.exit(0),
  )
}

setTimeout(() => report(null), Math.max(0, DEADLINE - performance.now()) + 1000).unref()
report(await Promise.all(Array.from({ length: COUNT }, (_, k) => client(FIRST + k))))
