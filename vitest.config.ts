import { defineConfig } from 'vitest/config'

export default defineConfig({
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
