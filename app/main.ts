import { mount } from 'svelte'
import App from './App.svelte'
import './app.css'
import { loadRelayConfig } from './lib/relay-config.ts'

const target = document.getElementById('app')
if (!target) throw new Error('index.html has no #app element')

// The relay's ICE servers are needed before the first WebRTC connection; the request is
// same-origin and tiny, and bounded by a short timeout.
await loadRelayConfig()

export default mount(App, { target })
