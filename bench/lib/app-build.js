// The app built for a benchmark that runs it as users do (served by a relay's --app-dir), into
// a directory of its own: not dist/app, which other runs serve.

import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** The app built into `outDir` (as `npx vite build` does into dist/app). */
export function buildApp(outDir) {
  const r = spawnSync('npx', ['vite', 'build', '--outDir', outDir, '--emptyOutDir'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`vite build failed: ${r.stderr}`)
}
