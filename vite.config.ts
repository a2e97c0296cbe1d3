// The app's build: Svelte 5 from app/, static files from public/, output in dist/app where
// the relay serves it (relay/api.ts). vite-plugin-pwa writes the web app manifest and builds
// our own service worker (app/sw.ts) with the app shell's precache list injected.
import { defineConfig, type Plugin } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { VitePWA } from 'vite-plugin-pwa'

/** The design's page background (app/app.css `--bg`), light and dark. */
const LIGHT_BG = '#f6f8fb'

/** app/main.ts starts the catalog worker, then imports the rest of the app (app/app.ts): the
 * page fetches that chunk and its styles from the start, beside the entry, rather than once
 * the entry has run (a round trip later on a real network). */
function preloadApp(): Plugin {
  return {
    name: 'monsoon-preload-app',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, { bundle }) {
        const app = Object.values(bundle ?? {}).find(
          (c) => c.type === 'chunk' && c.facadeModuleId?.endsWith('/app/app.ts'),
        )
        if (app?.type !== 'chunk') throw new Error('the build has no chunk for app/app.ts')
        // Its styles too: Vite's import() then finds them already linked.
        const styles = [...(app.viteMetadata?.importedCss ?? [])].map((href) => ({
          tag: 'link',
          attrs: { rel: 'stylesheet', crossorigin: true, href: `/${href}` },
          injectTo: 'head' as const,
        }))
        return [
          {
            tag: 'link',
            attrs: { rel: 'modulepreload', crossorigin: true, href: `/${app.fileName}` },
            injectTo: 'head',
          },
          ...styles,
        ]
      },
    },
  }
}

export default defineConfig({
  root: 'app',
  publicDir: '../public',
  // No svelte.config.js: Svelte 5 reads TypeScript itself, and the defaults suit the app.
  plugins: [
    svelte({ configFile: false }),
    preloadApp(),
    VitePWA({
      strategies: 'injectManifest',
      srcDir: '.',
      filename: 'sw.ts',
      // app/lib/sw-registration.ts registers it through workbox-window.
      injectRegister: false,
      // The icons are in globPatterns already.
      includeManifestIcons: false,
      injectManifest: {
        // The shell: scripts (the catalog worker and WebTorrent included), styles, the page,
        // icons and the manifest. Nothing the relay answers at run time.
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        rollupFormat: 'es',
      },
      manifest: {
        name: 'Monsoon',
        short_name: 'Monsoon',
        description: 'Share and download files peer to peer, straight from your browser.',
        id: '/',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        // The manifest takes one colour; the page's <meta name="theme-color"> tags give
        // the dark one where the browser follows the system theme (app/index.html).
        theme_color: LIGHT_BG,
        background_color: LIGHT_BG,
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          {
            src: '/icons/maskable-512.png',
            sizes: '512x512',
            type: 'image/png',
            purpose: 'maskable',
          },
          { src: '/favicon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
        ],
        // A magnet: link clicked anywhere opens the app's open route (app/lib/routes.ts).
        protocol_handlers: [{ protocol: 'magnet', url: '/#/open?magnet=%s' }],
      },
    }),
  ],
  build: {
    outDir: '../dist/app',
    emptyOutDir: true,
    target: 'es2022',
    // webtorrent.min.js is one prebuilt ~220 kB module; splitting it buys nothing.
    chunkSizeWarningLimit: 600,
  },
})
