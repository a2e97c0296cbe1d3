import { svelte } from '@sveltejs/vite-plugin-svelte'
import { configDefaults, defineConfig } from 'vitest/config'

/** The operator's install runs on its own after the e2e run (`npm run test:pack`): it packs
 * the app that run built, and its npm install would slow every test beside it. */
export const PACK_TEST = 'relay/test/pack-install.test.ts'

export default defineConfig({
  // Compiles Svelte 5 runes in *.svelte.ts modules, so their classes are unit-tested as is.
  plugins: [svelte({ configFile: false })],
  test: {
    include: [
      'relay/**/*.test.ts',
      'shared/**/*.test.ts',
      'app/**/*.test.ts',
      'bench/**/*.test.ts',
    ],
    exclude: [...configDefaults.exclude, PACK_TEST],
    // Three test files at a time. Most of the suite waits on processes it started (relays,
    // classic clients, pebble): on 2 cores, two at a time cut the run from 11 to 6.5 minutes,
    // three from 7.7 to 6.7 (the first such run met a race in hostile-input.test.ts, since
    // fixed; the next and a full CI run passed); ports handed to those processes
    // come from outside the ephemeral range (relay/test/ports.ts), so files running side by
    // side cannot take each other's.
    maxWorkers: 3,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
