// Entry of a socket worker process (socket-workers.ts forks it): registers tsx so the
// TypeScript sources load here as they do in the relay (relay/bin.js), then starts it.
import { register } from 'tsx/esm/api'

register()
await import('./socket-worker-main.ts')
