// Registers the service worker (app/sw.ts, built to /sw.js) through workbox-window, and tells
// the page when a new version of the app is waiting.
//
// For streaming (WebTorrent's `client.createServer({ controller })`): await
// `serviceWorkerRegistration()`. It resolves once a worker is active and controls this page
// (so requests under /webtorrent/ reach it), or null where there is none (the dev server, a
// browser without service workers, a private window that refuses them).

import { Workbox } from 'workbox-window'

/** How long to wait for the first worker to take the page before giving up on it. */
const CONTROL_TIMEOUT_MS = 30_000

let workbox: Workbox | null = null
let registration: Promise<ServiceWorkerRegistration | null> = Promise.resolve(null)
const waitingListeners = new Set<() => void>()
let waiting = false

/** Registers /sw.js once; a no-op where service workers are not available. */
export function registerServiceWorker(url = '/sw.js'): void {
  if (workbox || !('serviceWorker' in navigator)) return
  workbox = new Workbox(url, { scope: '/' })
  workbox.addEventListener('waiting', () => {
    waiting = true
    for (const listener of waitingListeners) listener()
  })
  const sw = navigator.serviceWorker
  registration = workbox
    .register()
    .then(async (reg) => {
      if (!reg) return null
      await sw.ready
      if (!sw.controller) await controlled(sw)
      return sw.controller ? await sw.ready : null
    })
    .catch(() => null)
}

/** The active registration controlling this page, or null (see the header). */
export function serviceWorkerRegistration(): Promise<ServiceWorkerRegistration | null> {
  return registration
}

/** Calls `listener` when a new version is installed and waiting (now, if one already is);
 * returns the unsubscribe function. */
export function onUpdateWaiting(listener: () => void): () => void {
  waitingListeners.add(listener)
  if (waiting) listener()
  return () => waitingListeners.delete(listener)
}

/** Lets the waiting version take over, then reloads the page into it. */
export function applyUpdate(): void {
  if (!workbox) return
  workbox.addEventListener('controlling', () => location.reload())
  workbox.messageSkipWaiting()
}

function controlled(sw: ServiceWorkerContainer): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, CONTROL_TIMEOUT_MS)
    sw.addEventListener(
      'controllerchange',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}
