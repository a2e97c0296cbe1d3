import { describe, expect, it } from 'vitest'
import { MAGNET_HANDLER_URL, listingPath, parseHash } from './routes.ts'

describe('parseHash', () => {
  it('maps the app routes', () => {
    expect(parseHash('')).toMatchObject({ name: 'index' })
    expect(parseHash('#/')).toMatchObject({ name: 'index' })
    expect(parseHash('#/add')).toEqual({ name: 'add' })
    expect(parseHash('#/network')).toEqual({ name: 'network' })
    expect(parseHash('#/nope')).toEqual({ name: 'not-found', path: '/nope' })
    expect(parseHash('#/t/%zz')).toMatchObject({ name: 'torrent', id: '%zz' })
    expect(parseHash('#/l/%zz')).toEqual({ name: 'listing', id: '%zz' })
  })

  it('keeps the index page query', () => {
    const route = parseHash('#/?q=big%20buck&cat=movie')
    expect(route.name).toBe('index')
    if (route.name !== 'index') return
    expect(route.params.get('q')).toBe('big buck')
    expect(route.params.get('cat')).toBe('movie')
  })

  it('keeps the torrent id and its query', () => {
    const route = parseHash('#/t/abc?dn=x%20y&tr=ws%3A%2F%2Fh%2F')
    expect(route.name).toBe('torrent')
    if (route.name !== 'torrent') return
    expect(route.id).toBe('abc')
    expect(route.params.get('dn')).toBe('x y')
    expect(route.params.get('tr')).toBe('ws://h/')
  })

  it('round-trips a listing path', () => {
    const hash = '0123456789abcdef0123456789abcdef01234567'
    expect(parseHash(listingPath(hash))).toEqual({ name: 'listing', id: hash })
  })
})

describe('the magnet handler route', () => {
  const link =
    'magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=A+b&tr=wss%3A%2F%2Fx%2F'

  it('reads the link as the browser escapes it (%s in MAGNET_HANDLER_URL)', () => {
    const hash = MAGNET_HANDLER_URL.replace('%s', encodeURIComponent(link)).replace(/^\//, '')
    expect(parseHash(hash)).toEqual({ name: 'open', link })
  })

  it('reads a link pasted unescaped, its own & and all', () => {
    expect(parseHash(`#/open?magnet=${link}`)).toEqual({ name: 'open', link })
  })

  it('gives an empty link when there is none', () => {
    expect(parseHash('#/open')).toEqual({ name: 'open', link: '' })
    expect(parseHash('#/open?x=1')).toEqual({ name: 'open', link: '' })
    expect(parseHash('#/settings')).toEqual({ name: 'settings' })
  })
})
