import { describe, expect, it } from 'vitest'
import { perKeyQueue } from './opfs-protocol.ts'

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('perKeyQueue', () => {
  it('runs the jobs on one key one at a time, in order, even when one fails', async () => {
    const inOrder = perKeyQueue()
    const log: string[] = []
    const job =
      (name: string, fail = false) =>
      async () => {
        log.push(`start ${name}`)
        await tick()
        log.push(`end ${name}`)
        if (fail) throw new Error(name)
        return name
      }
    const a = inOrder('k', job('a'))
    const b = inOrder('k', job('b', true))
    const c = inOrder('k', job('c'))
    await expect(a).resolves.toBe('a')
    await expect(b).rejects.toThrow('b')
    await expect(c).resolves.toBe('c')
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
  })

  it('lets jobs on other keys run meanwhile', async () => {
    const inOrder = perKeyQueue()
    const log: string[] = []
    let release = () => {}
    const held = inOrder('slow', () => new Promise<void>((resolve) => (release = resolve)))
    await inOrder('other', async () => void log.push('other ran'))
    expect(log).toEqual(['other ran'])
    release()
    await held
  })
})
