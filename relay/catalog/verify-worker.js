// Worker thread entry for VerifyPool (verify-pool.ts): registers tsx so the TypeScript
// sources load here as they do in the main thread (relay/bin.js), then starts the worker.
import { register } from 'tsx/esm/api'

register()
await import('./verify-worker-main.ts')
