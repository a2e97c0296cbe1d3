// The app's build: Svelte 5 from app/, static files from public/, output in dist/app where
// the relay serves it (relay/api.ts).
import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

export default defineConfig({
  root: 'app',
  publicDir: '../public',
  // No svelte.config.js: Svelte 5 reads TypeScript itself, and the defaults suit the app.
  plugins: [svelte({ configFile: false })],
  build: {
    outDir: '../dist/app',
    emptyOutDir: true,
    target: 'es2022',
    // webtorrent.min.js is one prebuilt ~220 kB module; splitting it buys nothing.
    chunkSizeWarningLimit: 600,
  },
})
