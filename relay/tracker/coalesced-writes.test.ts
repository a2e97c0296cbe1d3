import fc from 'fast-check'
import { once } from 'node:events'
import { createServer, connect, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { CoalescedWrites, type Corkable } from './coalesced-writes.ts'

/** Counts corks and uncorks, and whether it is corked now. */
class CountingSocket implements Corkable {
  corks = 0
  uncorks = 0
  get corked(): number {
    return this.corks - this.uncorks
  }
  cork(): void {
    this.corks++
  }
  uncork(): void {
    this.uncorks++
  }
}

/** A defer the test runs by hand. */
function manualTurns() {
  const pending: (() => void)[] = []
  return {
    defer: (flush: () => void) => void pending.push(flush),
    endTurn: () => {
      for (const flush of pending.splice(0)) flush()
    },
    pending,
  }
}

describe('CoalescedWrites', () => {
  it('corks a socket once per turn and uncorks it at the end of the turn', () => {
    const turns = manualTurns()
    const writes = new CoalescedWrites({ defer: turns.defer })
    const a = new CountingSocket()
    const b = new CountingSocket()
    writes.hold(a)
    writes.hold(a)
    writes.hold(b)
    writes.hold(a)
    expect([a.corked, b.corked, writes.held]).toEqual([1, 1, 2])
    expect(turns.pending).toHaveLength(1)
    turns.endTurn()
    expect([a.corked, b.corked, writes.held]).toEqual([0, 0, 0])
    writes.hold(b)
    expect([b.corks, turns.pending.length]).toEqual([2, 1])
  })

  it('flushes what a batch holds at the first hold once its first socket waited maxHoldMs', () => {
    const turns = manualTurns()
    let clock = 100
    const writes = new CoalescedWrites({ defer: turns.defer, now: () => clock, maxHoldMs: 1 })
    const [a, b, c, d] = Array.from({ length: 4 }, () => new CountingSocket())
    writes.hold(a)
    clock += 0.9
    writes.hold(b)
    // Already held: nothing to decide, even past the budget.
    clock += 0.5
    writes.hold(a)
    expect([a.corked, b.corked, writes.held]).toEqual([1, 1, 2])
    writes.hold(c)
    // a and b left; c starts the next batch, whose clock starts now.
    expect([a.corked, b.corked, c.corked, writes.held]).toEqual([0, 0, 1, 1])
    clock += 0.9
    writes.hold(d)
    expect([c.corked, d.corked, writes.held]).toEqual([1, 1, 2])
    // One deferred flush for the turn, however many batches it had.
    expect(turns.pending).toHaveLength(1)
    turns.endTurn()
    expect([a, b, c, d].map((s) => s.corked)).toEqual([0, 0, 0, 0])
    expect([a.corks, b.corks, c.corks, d.corks]).toEqual([1, 1, 1, 1])
  })

  it('leaves every socket uncorked after each turn, whatever the order of holds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(fc.nat(5), fc.nat(3)), { maxLength: 20 }), { maxLength: 6 }),
        (turnsOf) => {
          const turns = manualTurns()
          let clock = 0
          const writes = new CoalescedWrites({ defer: turns.defer, now: () => clock, maxHoldMs: 2 })
          const sockets = Array.from({ length: 6 }, () => new CountingSocket())
          for (const holds of turnsOf) {
            for (const [i, wait] of holds) {
              clock += wait
              writes.hold(sockets[i])
              // Never corked twice over, and held until a flush.
              expect(sockets[i].corked).toBe(1)
            }
            turns.endTurn()
            for (const s of sockets) expect(s.corked).toBe(0)
          }
        },
      ),
    )
  })

  it('sends frames written in one turn to a real socket in one read, bytes intact', async () => {
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as { port: number }
    const accepted = once(server, 'connection') as Promise<[Socket]>
    const client = connect(port, '127.0.0.1')
    await once(client, 'connect')
    const [peer] = await accepted
    const reads: Buffer[] = []
    peer.on('data', (chunk: Buffer) => reads.push(chunk))
    try {
      const writes = new CoalescedWrites()
      const frames = Array.from({ length: 50 }, (_, i) => `frame ${i};`)
      for (const frame of frames) {
        writes.hold(client)
        client.write(frame)
      }
      const all = frames.join('')
      while (Buffer.concat(reads).length < all.length) await once(peer, 'data')
      expect(Buffer.concat(reads).toString()).toBe(all)
      // Uncorked each time, loopback would have delivered many chunks; corked, one write.
      expect(reads.length).toBe(1)
      expect(writes.held).toBe(0)
    } finally {
      client.destroy()
      peer.destroy()
      server.close()
    }
  })
})
