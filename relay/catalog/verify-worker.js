// Worker thread entry for VerifyPool (verify-pool.ts) when its bundle could not be made
// (worker-bundle.ts): registers tsx so the TypeScript sources load here as they do in the
// main thread (relay/bin.js), then starts the worker.
import { register } from 'tsx/esm/api'

register()
await import('./verify-worker-main.ts')
