// The relay's command line: parse options, start, log where it listens, stop cleanly on
// SIGINT/SIGTERM.

import { ConfigError, helpText, parseCommandLine } from './config.ts'
import { TurnSecretError } from './ice/secret.ts'
import { NodeKeyError } from './identity.ts'
import { createLogger } from './log.ts'
import { createRelay, type Relay } from './server.ts'
import { AcmeCertificates } from './tls/acme.ts'
import { TlsConfigError, loadTls, readPem } from './tls/tls.ts'

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
  let relay: Relay | undefined
  let tls
  let acme: AcmeCertificates | undefined
  try {
    if (config.acmeDomains.length) {
      acme = new AcmeCertificates({
        domains: config.acmeDomains,
        directory: config.acmeDirectory,
        email: config.acmeEmail,
        ca: config.acmeCa.map((path) => readPem(path, '--acme-ca', 'CERTIFICATE')),
        dataDir: config.dataDir,
        log,
        onCertificate: (material) => relay?.setTls(material),
      })
    }
    // With ACME: a stored certificate, else the self-signed one until the CA has answered.
    tls =
      acme?.stored() ??
      (await loadTls({ ...config, tlsSelfSigned: !!acme || config.tlsSelfSigned }))
    relay = createRelay(config, log, tls, acme)
  } catch (err) {
    const known =
      err instanceof NodeKeyError || err instanceof TlsConfigError || err instanceof TurnSecretError
    if (!known) throw err
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
  acme?.start(address.port)

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info('stopping', { signal })
    acme?.close()
    void relay.close().then(() => process.exit(0))
    setTimeout(() => process.exit(0), 5000).unref()
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}
