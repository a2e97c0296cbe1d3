import { render } from 'svelte/server'
import { describe, expect, it } from 'vitest'
import type { MeshStats } from '../lib/mesh/types.ts'
import { noMeshStats } from '../lib/mesh-view.ts'
import MeshPanel from './MeshPanel.svelte'

const id = (n: number) => n.toString(16).padStart(40, '0')

const quiet = noMeshStats()

describe('MeshPanel', () => {
  it('says what the mesh is while no browser speaks it, and shows the totals', () => {
    const { body } = render(MeshPanel, { props: { stats: quiet, names: new Map() } })
    expect(body).toContain('data-testid="mesh-empty"')
    expect(body).toContain('carry connection offers and pass on the catalog')
    expect(body).toContain('data-total="introductionsReceived" data-value="0"')
    expect(body).not.toContain('data-testid="mesh-neighbours"')
    expect(body).not.toContain('data-testid="mesh-banned"')
  })

  it('lists neighbours with their swarms, and banned peers, as text', () => {
    const hostile = '<img src=x onerror=alert(1)>'
    const stats: MeshStats = {
      ...quiet,
      introductionsReceived: 4,
      neighbours: [
        {
          peerId: id(1),
          swarms: [id(2), id(3)],
          since: Date.now(),
          pexPeers: 7,
          introductionsReceived: 4,
          introductionsMade: 1,
          recordsStored: 12,
        },
      ],
      banned: [{ peerId: id(9), reason: hostile, at: Date.now() }],
    }
    const { body } = render(MeshPanel, {
      props: { stats, names: new Map([[id(2), hostile]]) },
    })
    expect(body).toContain(`data-testid="mesh-neighbour" data-peer-id="${id(1)}"`)
    expect(body).toContain('data-total="introductionsReceived" data-value="4"')
    expect(body).toContain('data-count="pexPeers">7<')
    expect(body).toContain(`data-infohash="${id(3)}"`)
    expect(body).toContain(`data-testid="mesh-banned-peer" data-peer-id="${id(9)}"`)
    expect(body).not.toContain('<img')
    expect(body).toContain('&lt;img src=x onerror=alert(1)>')
  })
})
