import { defineConfig } from 'vitest/config'
import { PACK_TEST } from './vitest.config.ts'

// `npm run test:pack`: relay/test/pack-install.test.ts alone (see vitest.config.ts).
export default defineConfig({
  test: { include: [PACK_TEST], testTimeout: 120_000, hookTimeout: 60_000 },
})
