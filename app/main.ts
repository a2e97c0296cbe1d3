/// <reference types="vite/client" />
// The app's first module, kept small so that what takes longest at start begins before the
// rest of the app (WebTorrent among it: about 270 ms of script evaluation on a 2-core machine)
// is fetched and run:
// - the catalog worker, which loads the stored index: a second and more at a million
//   listings, and the Index page shows no rows until it has;
// - the request for the origin relay's ICE servers, needed before the first WebRTC
//   connection: same-origin and tiny, bounded by a short timeout, and answered from the last
//   copy offline. Their credentials are refreshed from then on (relay-config.ts).
// Then the app (app.ts) is imported and mounted.
import { catalog } from './catalog/catalog.svelte.ts'
import { pageIce } from './lib/relay-config.ts'
import { settings } from './lib/settings.svelte.ts'
import { registerServiceWorker } from './lib/sw-registration.ts'
import './app.css'

const target = document.getElementById('app')
if (!target) throw new Error('index.html has no #app element')

// The same call App.svelte makes, with the same relays: it gets this catalog.
catalog(settings.current.relays)
const ice = pageIce().start()

// The service worker keeps the app shell for offline starts and hosts WebTorrent's streaming.
// Not under the dev server: it would cache modules Vite rewrites as they change.
if (import.meta.env.PROD) registerServiceWorker()

const { mountApp } = await import('./app.ts')
await ice
addEventListener('online', () => pageIce().wake())
mountApp(target)
