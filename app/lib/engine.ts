// The one place the app makes its WebTorrent client. The Transfers page (torrents.svelte.ts)
// and the transfer benchmarks (bench/transfer, bench/swarm) both take their client from
// here, so what the benchmarks call "ours" is exactly what users run.
import WebTorrent from 'webtorrent/dist/webtorrent.min.js'

export type ClientOptions = ConstructorParameters<typeof WebTorrent>[0]

/** A WebTorrent client set up the way Monsoon runs it. */
export function createClient(opts?: ClientOptions): WebTorrent {
  return new WebTorrent(opts)
}
