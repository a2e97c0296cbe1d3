import { describe, expect, it } from 'vitest'
import { parseHash } from './routes.ts'

describe('parseHash', () => {
  it('maps the app routes', () => {
    expect(parseHash('')).toEqual({ name: 'home' })
    expect(parseHash('#/')).toEqual({ name: 'home' })
    expect(parseHash('#/add')).toEqual({ name: 'add' })
    expect(parseHash('#/nope')).toEqual({ name: 'not-found', path: '/nope' })
    expect(parseHash('#/t/%zz')).toMatchObject({ name: 'torrent', id: '%zz' })
  })

  it('keeps the torrent id and its query', () => {
    const route = parseHash('#/t/abc?dn=x%20y&tr=ws%3A%2F%2Fh%2F')
    expect(route.name).toBe('torrent')
    if (route.name !== 'torrent') return
    expect(route.id).toBe('abc')
    expect(route.params.get('dn')).toBe('x y')
    expect(route.params.get('tr')).toBe('ws://h/')
  })
})
