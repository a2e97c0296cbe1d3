// Entry of a socket worker process started from its bundle (socket-workers.ts): asks the
// primary for the bundled code of socket-worker-main.ts and runs it as a data: module, so
// the worker loads neither tsx nor a TypeScript file. Through tsx (socket-worker.js, the
// fallback when the bundle cannot be made) each worker spent ~0.5 s of CPU starting and held
// ~77 MB of memory idle. Plain JavaScript: nothing here needs a loader.
const onCode = (message) => {
  if (message?.kind !== 'code' || typeof message.source !== 'string') return
  process.off('message', onCode)
  import(`data:text/javascript,${encodeURIComponent(message.source)}`).catch((err) => {
    console.error('socket worker failed to start:', err)
    process.exit(1)
  })
}
if (!process.send) throw new Error('a socket worker runs only as a forked child of the relay')
process.on('message', onCode)
process.send({ kind: 'boot' })
