import { Worker } from 'node:worker_threads'
import { describe, expect, it, vi } from 'vitest'
import { esbuildBundler, workerScript } from './worker-bundle.ts'
import type { VerifyResponse } from './verify-pool.ts'

const FALLBACK = new URL('./verify-worker.js', import.meta.url)

/** One request through a worker started from `url`, and its answers until the rows. */
async function askWorker(url: URL, body: string): Promise<VerifyResponse[]> {
  const worker = new Worker(url)
  try {
    return await new Promise((resolve, reject) => {
      const answers: VerifyResponse[] = []
      worker.on('error', reject)
      worker.on('message', (r: VerifyResponse) => {
        answers.push(r)
        if (r.kind !== 'head') resolve(answers)
      })
      worker.postMessage({ id: 7, body, source: 'test', nowSeconds: 0 })
    })
  } finally {
    await worker.terminate()
  }
}

describe('workerScript', () => {
  it('bundles the verify worker into one module that runs without tsx', async () => {
    const url = workerScript(new URL('./verify-worker-main.ts', import.meta.url), FALLBACK)
    expect(url.protocol).toBe('data:')
    // No import of a .ts file is left for a loader to resolve.
    const source = decodeURIComponent(url.href)
    expect(source).not.toMatch(/from ['"][^'"]+\.ts['"]/)
    // Which would resolve against the data: URL, not the module's file.
    expect(source).not.toContain('import.meta')
    expect(source).toMatch(/\/\/# sourceURL=verify-worker-main\.bundle\.js\n$/)
    const answers = await askWorker(url, '{"listings":[],"next":3,"more":false,"epoch":"ab"}')
    expect(answers).toEqual([
      { id: 7, kind: 'head', next: 3, more: false, epoch: 'ab', received: 0 },
      {
        id: 7,
        kind: 'rows',
        columns: { publisher: [], infoHash: [], seq: [], ts: [], json: [], bytes: [] },
        invalid: 0,
      },
    ])
    const malformed = await askWorker(url, '{"listings":{}}')
    expect(malformed).toMatchObject([{ id: 7, kind: 'error', malformed: true }])
  })

  it('bundles an entry once a process', () => {
    const bundle = vi.fn(() => 'export {}')
    const entry = new URL('file:///nowhere/once.ts')
    const first = workerScript(entry, FALLBACK, bundle)
    expect(workerScript(entry, FALLBACK, bundle)).toBe(first)
    expect(bundle).toHaveBeenCalledTimes(1)
    expect(bundle).toHaveBeenCalledWith('/nowhere/once.ts')
  })

  it('falls back to the tsx entry when bundling fails', () => {
    const failing = () => {
      throw new Error('no bundler here')
    }
    expect(workerScript(new URL('file:///nowhere/broken.ts'), FALLBACK, failing)).toBe(FALLBACK)
  })

  it('throws from esbuildBundler for an entry that does not exist', () => {
    expect(() => esbuildBundler('/nowhere/missing.ts')).toThrow()
  })
})
