// Answers already computed for the zone as it stands: a query whose bytes (all but its id)
// match one answered before gets that answer again with its own id, without decoding or
// encoding anything. The answer depends only on those bytes, the transport and the zone, so
// it is exact; the cache empties whenever the zone is rebuilt (authority.ts, at most once a
// second); past MAX_DNS_CACHED_ANSWERS the eldest answer goes, so it stays small whatever
// is asked.

import { BoundedMap } from '../../shared/bounded-map.ts'
import { MAX_DNS_CACHED_ANSWERS } from '../limits.ts'
import { respond, type DnsResponse, type DnsTransport } from './message.ts'
import type { Zone } from './zone.ts'

export class AnswerCache {
  readonly #answers = new BoundedMap<string, DnsResponse | null>({
    maxSize: MAX_DNS_CACHED_ANSWERS,
    order: 'oldest',
  })
  #zone: Zone | undefined

  get size(): number {
    return this.#answers.size
  }

  /** respond(), from the cache when the same question was answered for this zone. */
  respond(query: Uint8Array, zone: Zone, transport: DnsTransport): DnsResponse | null {
    if (zone !== this.#zone) {
      this.#answers.clear()
      this.#zone = zone
    }
    if (query.length < 12) return null
    const buf = Buffer.from(query.buffer, query.byteOffset, query.length)
    const key = transport + buf.toString('latin1', 2)
    let cached = this.#answers.get(key)
    if (cached === undefined) {
      cached = respond(query, zone, transport)
      this.#answers.set(key, cached)
    }
    if (!cached) return null
    const bytes = Buffer.from(cached.bytes)
    bytes.writeUInt16BE(buf.readUInt16BE(0), 0)
    return { ...cached, bytes }
  }
}
