// The relay's command line: parse options, start, log where it listens, stop cleanly on
// SIGINT/SIGTERM.

import { ConfigError, helpText, parseCommandLine } from './config.ts'
import { NodeKeyError } from './identity.ts'
import { createLogger } from './log.ts'
import { createRelay } from './server.ts'
import { TlsConfigError, loadTls } from './tls/tls.ts'

export async function main(argv: string[]): Promise<void> {
  let parsed
  try {
    parsed = parseCommandLine(argv)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`monsoon-relay: ${err.message}\n`)
    process.exit(2)
  }
  if (parsed.help) {
    process.stdout.write(helpText() + '\n')
    return
  }
  const { config } = parsed
  const log = createLogger(config.logLevel)
  let relay
  let tls
  try {
    tls = await loadTls(config)
    relay = createRelay(config, log, tls)
  } catch (err) {
    if (!(err instanceof NodeKeyError) && !(err instanceof TlsConfigError)) throw err
    process.stderr.write(`monsoon-relay: ${err.message}\n`)
    process.exit(1)
  }
  let address
  try {
    address = await relay.listen()
  } catch (err) {
    log.error('cannot listen', { host: config.host, port: config.port, error: String(err) })
    process.exit(1)
  }
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
  log.info('listening', {
    port: address.port,
    host: address.address,
    url: `${tls ? 'https' : 'http'}://${shownHost}:${address.port}`,
    publicUrl: config.publicUrl,
    dataDir: config.dataDir,
  })

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info('stopping', { signal })
    void relay.close().then(() => process.exit(0))
    setTimeout(() => process.exit(0), 5000).unref()
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}
