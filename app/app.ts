// The app itself, imported by main.ts once the catalog worker and the ICE request are under
// way.
import { mount } from 'svelte'
import App from './App.svelte'

export const mountApp = (target: HTMLElement) => mount(App, { target })
