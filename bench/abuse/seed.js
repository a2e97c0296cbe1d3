// Fills a relay's catalog for bench/abuse's slow readers, run as its own process:
//   node seed.js PORT
// Signs LISTINGS large listings (a full description and FILES_PER_LISTING long paths, ~7 KB
// each as JSON) with OpenSSL (relay/catalog/test-support.ts) and publishes them through
// POST /v1/listings, each publisher from an address of its own (shared.js), so they take the
// path any listing takes. Then one page at the largest limit is fetched and measured: what
// each slow reader asks for. Prints one JSON line: listings stored, that page's bytes.

import { request } from 'node:http'
import { register } from 'tsx/esm/api'
import { PUBLISHERS } from './shared.js'

register()
const { FastSigner, sampleDraft } = await import('../../relay/catalog/test-support.ts')

/** More than one page holds at its byte cap (relay/limits.ts MAX_PAGE_BYTES, 4 MiB). */
const LISTINGS = 1000
const PER_POST = 100
const FILES_PER_LISTING = 40
const PORT = Number(process.argv[2])
if (!(PORT > 0)) {
  process.stderr.write('usage: node seed.js PORT\n')
  process.exit(2)
}

function call(method, path, body, from = PUBLISHERS[0]) {
  return new Promise((resolve, reject) => {
    const headers = body ? { 'Content-Type': 'application/json' } : {}
    const req = request(
      { host: '127.0.0.1', port: PORT, method, path, localAddress: from, headers },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      },
    )
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer`)))
    req.on('error', reject)
    req.end(body)
  })
}

/** A listing as large as the shared limits let a plausible one be. */
function largeDraft(i) {
  const draft = sampleDraft(i, 'abuse')
  draft.description = `Listing ${i}. `.padEnd(2000, 'a long description of this release ')
  draft.files = FILES_PER_LISTING
  draft.fileList = Array.from({ length: FILES_PER_LISTING }, (_, f) => ({
    path: `release-${i}/disc-${f % 4}/`.padEnd(80, 'track-name-') + `-${f}.flac`,
    size: 1_000_000 + f,
  }))
  draft.size = draft.fileList.reduce((sum, f) => sum + f.size, 0)
  return draft
}

const ts = Math.floor(Date.now() / 1000)
let stored = 0
const refused = {}
// Each publisher key posts its share from its own address.
for (const [p, address] of PUBLISHERS.entries()) {
  const signer = new FastSigner()
  const share = LISTINGS / PUBLISHERS.length
  const listings = Array.from({ length: share }, (_, i) =>
    signer.listing(largeDraft(p * share + i), { seq: 1, ts }),
  )
  for (let i = 0; i < listings.length; i += PER_POST) {
    const batch = listings.slice(i, i + PER_POST)
    const res = await call('POST', '/v1/listings', JSON.stringify({ listings: batch }), address)
    if (res.status === 200) stored += JSON.parse(res.body.toString()).stored ?? 0
    else refused[res.status] = (refused[res.status] ?? 0) + batch.length
  }
}
const page = await call('GET', '/v1/listings?after=0&limit=1000')
process.stdout.write(
  JSON.stringify({ stored, refused, page_status: page.status, page_bytes: page.body.length }) +
    '\n',
)
