// The catalog worker: runs the browser's catalog replica (catalog-replica.ts) off the main
// thread, so syncing, verifying and searching never freeze the page. This file only wires
// it to IndexedDB, the network and the page's messages.

import { openCatalogDb } from '../catalog/db.ts'
import type { FromWorker, ToWorker } from '../catalog/protocol.ts'
import { fetchRelayJson, fetchRelayText } from '../catalog/relay-client.ts'
import { CatalogReplica } from './catalog-replica.ts'
import { idbCatalogStorage } from './catalog-storage.ts'
import { VerifyPool, verifyWorkerCount } from './catalog-verify-pool.ts'

const scope = self as unknown as {
  postMessage(message: FromWorker): void
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null
}

// Verify workers where the cores allow them (catalog-verify-pool.ts); else pages are
// verified here.
const verifyWorkers = verifyWorkerCount(navigator.hardwareConcurrency)
const verifiers =
  verifyWorkers > 0
    ? new VerifyPool(
        () =>
          new Worker(new URL('./catalog-verify.worker.ts', import.meta.url), { type: 'module' }),
        verifyWorkers,
      )
    : null

const replica = new CatalogReplica({
  storage: openCatalogDb().then(idbCatalogStorage),
  fetchJson: fetchRelayJson,
  post: (message) => scope.postMessage(message),
  ...(verifiers && {
    verifyPage: (values, nowSeconds, text) => verifiers.verify(values, nowSeconds, text),
    // A sealed page is inflated in a verify worker, which verifies it straight on.
    fetchText: (url, init, timeoutMs) =>
      fetchRelayText(url, init, timeoutMs, (gzip, maxBytes) =>
        verifiers.inflate(gzip, maxBytes, Math.floor(Date.now() / 1000)),
      ),
  }),
})

scope.onmessage = (event) => void replica.receive(event.data)
replica.preload()
