import { describe, expect, it } from 'vitest'
import { BackgroundLoop } from './background-loop.ts'

describe('BackgroundLoop', () => {
  it('runs the body once, and stop() wakes its sleep and waits for it to return', async () => {
    const loop = new BackgroundLoop()
    let rounds = 0
    let returned = false
    const body = async () => {
      while (!loop.stopped) {
        rounds++
        await loop.sleep(60_000)
      }
      returned = true
    }
    loop.start(body)
    loop.start(body)
    expect(rounds).toBe(1)
    await loop.stop()
    expect(returned).toBe(true)
    expect(rounds).toBe(1)
    expect(loop.signal.aborted).toBe(true)
  })

  it('wake() cuts one sleep short and the loop goes on', async () => {
    const loop = new BackgroundLoop()
    let rounds = 0
    loop.start(async () => {
      while (!loop.stopped) {
        rounds++
        await loop.sleep(60_000)
      }
    })
    loop.wake()
    await new Promise((r) => setTimeout(r, 0))
    expect(rounds).toBe(2)
    await loop.stop()
  })

  it('a sleep after stop() returns at once; stop() without start() returns', async () => {
    const loop = new BackgroundLoop()
    await loop.stop()
    // Were it to wait, the test would time out.
    await expect(loop.sleep(60_000)).resolves.toBeUndefined()
  })
})
