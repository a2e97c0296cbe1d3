// The app's hash routes. Hash routing keeps every page at the relay's `/`, so any relay can
// serve the app as static files and a share link works on whichever relay served it.

export type Route =
  | { name: 'index'; params: URLSearchParams }
  | { name: 'add' }
  | { name: 'network' }
  | { name: 'settings' }
  | { name: 'open'; link: string }
  | { name: 'listing'; id: string }
  | { name: 'torrent'; id: string; params: URLSearchParams }
  | { name: 'not-found'; path: string }

/**
 * Reads `#/?…`, `#/add`, `#/network`, `#/settings`, `#/l/<infohash>`, `#/t/<infohash>?…` and
 * `#/open?magnet=<link>` (the target of the magnet: protocol handler) into a Route.
 */
export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/'
  const q = raw.indexOf('?')
  const path = q === -1 ? raw : raw.slice(0, q)
  const params = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1))
  if (path === '/' || path === '') return { name: 'index', params }
  if (path === '/add') return { name: 'add' }
  if (path === '/network') return { name: 'network' }
  if (path === '/settings') return { name: 'settings' }
  if (path === '/open') return { name: 'open', link: magnetParam(q === -1 ? '' : raw.slice(q + 1)) }
  const listing = /^\/l\/([^/]+)\/?$/.exec(path)
  if (listing) return { name: 'listing', id: safeDecode(listing[1]) }
  const torrent = /^\/t\/([^/]+)\/?$/.exec(path)
  if (torrent) return { name: 'torrent', id: safeDecode(torrent[1]), params }
  return { name: 'not-found', path }
}

/** The details page of a listed torrent. */
export function listingPath(infoHash: string): string {
  return `#/l/${infoHash}`
}

/** The page a magnet: link opens, as registered with the browser (`%s` is the link). */
export const MAGNET_HANDLER_URL = '/#/open?magnet=%s'

/**
 * The link in `magnet=…`: the browser escapes it (`magnet%3A%3Fxt%3D…`), but a link pasted
 * by hand keeps its own `&`s, so everything after `magnet=` is the link.
 */
function magnetParam(query: string): string {
  const m = /^magnet=(.*)$/s.exec(query)
  if (!m) return ''
  return /^magnet%3a/i.test(m[1]) ? safeDecode(m[1]) : m[1]
}

/** A malformed escape (`%zz`) is kept as typed: the view then says it is not a hash. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
