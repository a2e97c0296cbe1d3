import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import svelte from 'eslint-plugin-svelte'
import globals from 'globals'

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'test-results/', 'playwright-report/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The engine seam (app/lib/engine/README.md): only that folder reaches WebTorrent and the
    // libraries it bundles. Benchmarks and e2e load the stock bundle as the reference; the
    // relay's own tests run stock WebTorrent as a classic client; the service worker imports
    // WebTorrent's public worker half; unit tests may load the real bundle (test-bundle.ts).
    files: ['app/**/*.ts', 'app/**/*.svelte', 'relay/**/*.ts', 'shared/**/*.ts'],
    ignores: ['app/lib/engine/**', 'relay/test/**', '**/*.test.ts', 'app/sw.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex:
                '^(webtorrent|@thaunknown/simple-peer|bittorrent-protocol|torrent-piece|bittorrent-tracker)(/|$)',
              message: 'WebTorrent is reached through the engine seam: app/lib/engine/index.ts',
            },
            {
              regex: 'engine/(?!index\\.ts$|client\\.ts$|hybrid\\.ts$)',
              message: 'Import the engine through app/lib/engine/index.ts (client.ts, hybrid.ts)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
)
