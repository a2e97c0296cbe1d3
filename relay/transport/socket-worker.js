// Entry of a socket worker process when its bundle could not be made (socket-workers.ts;
// socket-worker-boot.js is the usual one): registers tsx so the
// TypeScript sources load here as they do in the relay (relay/bin.js), then starts it.
import { register } from 'tsx/esm/api'

register()
await import('./socket-worker-main.ts')
