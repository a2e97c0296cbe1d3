// The app's hash routes. Hash routing keeps every page at the relay's `/`, so any relay can
// serve the app as static files and a share link works on whichever relay served it.

export type Route =
  | { name: 'home' }
  | { name: 'add' }
  | { name: 'torrent'; id: string; params: URLSearchParams }
  | { name: 'not-found'; path: string }

/** Reads `#/`, `#/add`, `#/t/<infohash>?…` into a Route. */
export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/'
  const q = raw.indexOf('?')
  const path = q === -1 ? raw : raw.slice(0, q)
  const params = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1))
  if (path === '/' || path === '') return { name: 'home' }
  if (path === '/add') return { name: 'add' }
  const torrent = /^\/t\/([^/]+)\/?$/.exec(path)
  if (torrent) return { name: 'torrent', id: safeDecode(torrent[1]), params }
  return { name: 'not-found', path }
}

/** A malformed escape (`%zz`) is kept as typed: the torrent view then says it is not a hash. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
