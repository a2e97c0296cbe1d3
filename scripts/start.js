#!/usr/bin/env node
// `npm start`: builds the app when dist/app is missing or older than its sources, then runs
// the relay with the given options (`npm start -- --port 9000`).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const wantsHelp = args.includes('--help') || args.includes('-h')

/** Newest modification time under the given paths (files or folders). */
function newest(paths) {
  let max = 0
  const visit = (p) => {
    if (!existsSync(p)) return
    const st = statSync(p)
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name))
    else max = Math.max(max, st.mtimeMs)
  }
  for (const p of paths) visit(join(root, p))
  return max
}

const stamp = join(root, 'dist/app/index.html')
const sources = ['app', 'shared', 'public', 'vite.config.ts', 'package.json', 'tsconfig.json']
if (!wantsHelp && (!existsSync(stamp) || statSync(stamp).mtimeMs < newest(sources))) {
  process.stdout.write('Building the app (dist/app is missing or stale)…\n')
  const vite = join(root, 'node_modules/vite/bin/vite.js')
  const built = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
  })
  if (built.status !== 0) {
    process.stderr.write('The app failed to build; see the errors above.\n')
    process.exit(built.status ?? 1)
  }
}

await import('../relay/bin.js')
