// The page of the transfer and swarm benchmarks (built with Vite by bench/lib/browser-pages.js).
// Each browser context loads it once and plays one part, driven by the bench process through
// `window.bench`: a raw data channel's sender or receiver (ceiling.js), or a torrent's seeder
// or leecher of one client kind (torrent.js).
import * as ceiling from './ceiling.js'
import * as torrent from './torrent.js'

window.bench = { ...ceiling, ...torrent }
