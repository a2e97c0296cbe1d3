/// <reference lib="webworker" />
// Monsoon's service worker (built by vite-plugin-pwa in injectManifest mode, registered by
// app/lib/sw-registration.ts):
// - WebTorrent's streaming server: requests under /webtorrent/ are answered by the page that
//   holds the torrent (webtorrent's own worker code, lib/worker-server.js, for the installed
//   version). The page side is `client.createServer({ controller: registration })`.
// - The app shell, precached with Workbox, so the app starts offline; navigations to the
//   app's page fall back to the cached index.html.
// Nothing the relay answers at run time is cached: not /announce or /scrape, not the /v1 API
// (the catalog lives in IndexedDB), not /health or /dns-query. Those go to the network as if
// there were no service worker.

import fileResponse from 'webtorrent/lib/worker-server.js'
import {
  cleanupOutdatedCaches,
  createHandlerBoundToURL,
  precacheAndRoute,
} from 'workbox-precaching'
import { NavigationRoute, registerRoute } from 'workbox-routing'

declare const self: ServiceWorkerGlobalScope

// First, so that Workbox never sees a streaming request (only one listener may respond).
self.addEventListener('fetch', (event) => {
  const response = fileResponse(event)
  if (response) event.respondWith(response)
})

precacheAndRoute(self.__WB_MANIFEST)
cleanupOutdatedCaches()

// Hash routes keep every page at `/`; other paths are the relay's (JSON, DNS, metrics) and
// must reach it, so only the page's own path falls back to the shell.
registerRoute(
  new NavigationRoute(createHandlerBoundToURL('index.html'), {
    allowlist: [/^\/(index\.html)?(\?.*)?$/],
  }),
)

// A new version waits until the page says the user chose to reload (UpdateBanner.svelte).
self.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type === 'SKIP_WAITING') void self.skipWaiting()
})

// The first install takes the open page at once: streaming needs a controlled page, and the
// page should not need a reload to work offline.
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))
