import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vitest/config'

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
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
