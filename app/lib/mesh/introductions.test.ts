import { describe, expect, it } from 'vitest'
import { INTRODUCTION_TIMEOUT_MS, MAX_PENDING_INTRODUCTIONS } from '../../../shared/mesh/limits.ts'
import type { SignalledPeer } from '../engine/index.ts'
import { Introductions, remoteOfferWins, type Introduction } from './introductions.ts'

function intro(peerId: string, at = 0, initiator = true) {
  const peer = { destroyed: false, signal() {}, destroy() {} }
  peer.destroy = () => void (peer.destroyed = true)
  const value: Introduction = {
    infoHash: 'h',
    peerId,
    initiator,
    via: 'v',
    at,
    peer: Promise.resolve(peer as SignalledPeer),
  }
  return { value, peer }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('Introductions', () => {
  it('holds one per (swarm, peer), at most MAX_PENDING_INTRODUCTIONS', () => {
    const intros = new Introductions()
    expect(intros.add(intro('x').value)).toBe(true)
    expect(intros.add(intro('x').value)).toBe(false)
    for (let i = 0; i < 2 * MAX_PENDING_INTRODUCTIONS; i++) intros.add(intro(`p${i}`).value)
    expect(intros.size).toBe(MAX_PENDING_INTRODUCTIONS)
    expect(intros.full).toBe(true)
  })

  it('destroys those past the timeout, and tells whoever asked', async () => {
    const gone: string[] = []
    const intros = new Introductions((i) => gone.push(i.peerId))
    const old = intro('old', 0)
    const young = intro('young', 10)
    intros.add(old.value)
    intros.add(young.value)
    intros.expire(INTRODUCTION_TIMEOUT_MS)
    await settle()
    expect(old.peer.destroyed).toBe(true)
    expect(young.peer.destroyed).toBe(false)
    expect(gone).toEqual(['old'])
    expect(intros.get('h', 'young')).toBe(young.value)
  })

  it('finishes without destroying; destroys all of a banned peer', async () => {
    const intros = new Introductions()
    const done = intro('a')
    intros.add(done.value)
    intros.finish(done.value)
    const banned = intro('b')
    intros.add(banned.value)
    intros.destroyPeer('b')
    await settle()
    expect(done.peer.destroyed).toBe(false)
    expect(banned.peer.destroyed).toBe(true)
    expect(intros.size).toBe(0)
  })

  it('drops one whose connection never opened', async () => {
    const intros = new Introductions()
    const failed: Introduction = {
      infoHash: 'h',
      peerId: 'x',
      initiator: true,
      via: 'v',
      at: 0,
      peer: Promise.reject(new Error('no torrent')),
    }
    intros.add(failed)
    await settle()
    expect(intros.size).toBe(0)
  })

  it('gives glare to the lower peer id', () => {
    expect(remoteOfferWins('b'.repeat(40), 'a'.repeat(40))).toBe(true)
    expect(remoteOfferWins('a'.repeat(40), 'b'.repeat(40))).toBe(false)
  })
})
