// A worker thread's TypeScript entry bundled into one plain-JS module (esbuild, which tsx
// itself runs on), so the worker starts without tsx (issue 23). Through tsx, each verify
// worker registered its own loader thread and loaded every module through it: ~0.4 s of CPU
// a worker, spent while the first pages were being pulled. Bundled, two workers are ready in
// ~0.1 s of CPU (the bundling runs once a process, in esbuild's own, before the relay
// listens), and the pulling relay's CPU for a 100,000-listing sync went from 74-75 to 58-60
// µs a listing (bench catalog-sync, two runs each, 2 cores under load).
//
// Any failure to bundle falls back to the tsx entry: slower to start, the same code.

import { createRequire } from 'node:module'
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import type * as Esbuild from 'esbuild'

/** Bundles a TypeScript entry into one ES module's source; throws when it cannot. */
export type Bundler = (entryFile: string) => string

/** esbuild comes with tsx (package.json), loaded only when a pool has workers: were it
 * missing, the workers would start through tsx, not the relay fail to start. */
export const esbuildBundler: Bundler = (entryFile) => {
  const { buildSync, stop } = createRequire(import.meta.url)('esbuild') as typeof Esbuild
  try {
    const out = buildSync({
      entryPoints: [entryFile],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    })
    return out.outputFiles[0].text
  } finally {
    // buildSync leaves esbuild's process and a thread running for the next call: none comes.
    void stop()
  }
}

const bundled = new Map<string, URL>()

/** The URL to start a worker from: `entry` (a .ts module) bundled as a data: URL, made once
 * a process, or `fallback` (a loader that registers tsx and imports `entry`) when bundling
 * failed. */
export function workerScript(entry: URL, fallback: URL, bundle: Bundler = esbuildBundler): URL {
  const key = entry.href
  const held = bundled.get(key)
  if (held) return held
  let url: URL
  try {
    const file = fileURLToPath(entry)
    // Named, so stack traces and CPU profiles say where, not the whole data: URL.
    const source = `${bundle(file)}\n//# sourceURL=${basename(file, '.ts')}.bundle.js\n`
    url = new URL(`data:text/javascript,${encodeURIComponent(source)}`)
  } catch {
    url = fallback
  }
  bundled.set(key, url)
  return url
}
