/// <reference types="vite/client" />
import { mount } from 'svelte'
import App from './App.svelte'
import './app.css'
import { pageIce } from './lib/relay-config.ts'
import { registerServiceWorker } from './lib/sw-registration.ts'

const target = document.getElementById('app')
if (!target) throw new Error('index.html has no #app element')

// The service worker keeps the app shell for offline starts and hosts WebTorrent's streaming.
// Not under the dev server: it would cache modules Vite rewrites as they change.
if (import.meta.env.PROD) registerServiceWorker()

// The relay's ICE servers are needed before the first WebRTC connection; the request is
// same-origin and tiny, bounded by a short timeout, and answered from the last copy offline.
// Their credentials are refreshed from then on (relay-config.ts).
await pageIce().start()
addEventListener('online', () => pageIce().wake())

export default mount(App, { target })
