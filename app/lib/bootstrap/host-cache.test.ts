import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  MAX_CACHED_RELAYS,
  MAX_MESH_RELAYS,
  PageHostCache,
  pageIsLocal,
  type HostStore,
} from './host-cache.ts'

function memoryStore(): HostStore & { items: Map<string, string> } {
  const items = new Map<string, string>()
  return {
    items,
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, v),
  }
}

describe('pageIsLocal', () => {
  it('is true for a page served from loopback, a LAN or a local name, false on the Internet', () => {
    expect(pageIsLocal('http://127.0.0.1:8080')).toBe(true)
    expect(pageIsLocal('http://192.168.1.20')).toBe(true)
    expect(pageIsLocal('http://localhost:5173')).toBe(true)
    expect(pageIsLocal('https://relay.monsoon.network')).toBe(false)
    expect(pageIsLocal('not a url')).toBe(false)
  })
})

describe('PageHostCache', () => {
  it('takes public origins from the mesh, canonical, and refuses malformed and local ones', () => {
    const cache = new PageHostCache(memoryStore(), false)
    const result = cache.addFromMesh([
      'https://relay.monsoon.network',
      'http://93.184.216.34:8080',
      'https://relay.monsoon.network/', // the same origin, as the relays' cache reads it
      'http://127.0.0.1:8080',
      'http://[::1]',
      'http://10.0.0.1',
      'http://169.254.169.254',
      'http://224.0.0.1',
      'http://localhost',
      'https://user:pw@relay.monsoon.network',
      'ftp://relay.monsoon.network',
      'javascript:alert(1)',
      '<img src=x onerror=alert(1)>',
      'https://relay.monsoon.network/path',
      'x'.repeat(10_000),
      42,
      null,
    ])
    expect(result).toEqual({ stored: 2, refused: 14 })
    expect(cache.urls()).toEqual(['https://relay.monsoon.network', 'http://93.184.216.34:8080'])
  })

  it('on a local network takes loopback and LAN relays', () => {
    const cache = new PageHostCache(memoryStore(), true)
    expect(cache.addFromMesh(['http://127.0.0.1:8080', 'http://192.168.1.5:8080'])).toEqual({
      stored: 2,
      refused: 0,
    })
  })

  it('keeps the page’s own finds first, and a mesh flood only churns the mesh’s slots', () => {
    const store = memoryStore()
    const cache = new PageHostCache(store, false)
    const own = Array.from({ length: 10 }, (_, i) => `https://own${i}.monsoon.network`)
    cache.saveFound(own)
    const flood = Array.from({ length: 10_000 }, (_, i) => `https://spam${i}.monsoon.network`)
    cache.addFromMesh(flood)
    cache.addFromMesh(['https://newest.monsoon.network'])
    const urls = cache.urls()
    expect(urls.slice(0, 10)).toEqual(own)
    expect(urls).toHaveLength(10 + MAX_MESH_RELAYS)
    // The newest the mesh named come first; the flood's tail was never kept.
    expect(urls[10]).toBe('https://newest.monsoon.network')
    expect(urls).not.toContain('https://spam9999.monsoon.network')
    expect(cache.addFromMesh(own)).toEqual({ stored: 0, refused: 0 })
  })

  it('caps what the page found, and survives a corrupt or refusing store', () => {
    const store = memoryStore()
    const cache = new PageHostCache(store, false)
    cache.saveFound(Array.from({ length: 100 }, (_, i) => `https://r${i}.monsoon.network`))
    expect(cache.urls()).toHaveLength(MAX_CACHED_RELAYS)
    store.items.set('monsoon.discovered-relays', '{not json')
    store.items.set('monsoon.mesh-relays', '["http://127.0.0.1", 5, "https://ok.monsoon.network"]')
    expect(cache.urls()).toEqual(['https://ok.monsoon.network'])
    const full = new PageHostCache(
      {
        getItem: () => null,
        setItem: () => {
          throw new DOMException('full', 'QuotaExceededError')
        },
      },
      false,
    )
    expect(() => full.addFromMesh(['https://relay.monsoon.network'])).not.toThrow()
  })

  it('never throws and never stores a refused address, whatever it is handed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.webUrl(), fc.anything()), { maxLength: 20 }),
        (urls) => {
          const cache = new PageHostCache(memoryStore(), false)
          const { stored, refused } = cache.addFromMesh(urls)
          expect(stored + refused).toBeLessThanOrEqual(urls.length)
          for (const url of cache.urls()) expect(cache.check(url)).toBe(url)
        },
      ),
    )
  })
})
