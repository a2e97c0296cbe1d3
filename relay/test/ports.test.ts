import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { freePort } from './ports.ts'

describe('freePort', () => {
  it('gives distinct bindable ports below the range outgoing connections take', async () => {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
    const ports = await Promise.all(Array.from({ length: 8 }, () => freePort()))
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000)
      expect(port).toBeLessThan(low)
      const server = createServer().listen(port, '127.0.0.1')
      await once(server, 'listening')
      server.close()
    }
  })

  it('never gives a port that is taken', async () => {
    const taken = createServer().listen(await freePort(), '127.0.0.1')
    await once(taken, 'listening')
    const { port } = taken.address() as { port: number }
    for (let i = 0; i < 20; i++) expect(await freePort()).not.toBe(port)
    taken.close()
  })
})
