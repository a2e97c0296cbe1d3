// A real Transmission (transmission-daemon 3.00 from Debian) for integration tests: started in
// the foreground in a throwaway config directory, on its own loopback address, and driven over
// its JSON RPC (https://github.com/transmission/transmission/blob/3.00/extras/rpc-spec.txt).
//
// The settings it needs on loopback, and why:
//  - bind-address-ipv4 = its own 127.0.0.x: Transmission counts every peer of one address as one
//    peer, so it must not share 127.0.0.1 with the relay's bridge or aria2. Transmission also
//    binds its tracker requests (libcurl) to this address, so the relay records it there.
//  - bind-address-ipv6 = ::1, utp/dht/lpd/pex/port-forwarding off: the relay's tracker is its
//    only source of peers, and nothing leaves the machine.
//  - It never dials 127.0.0.0/8 peers a tracker gives it (a "martian" address to Transmission
//    3.00), so every connection to it is dialed by the other side: whoever has to meet it must
//    announce after it did.
//  - rpc-whitelist 127.0.0.*, no RPC password, no host whitelist: only loopback reaches the RPC.
//  - rename-partial-files off, no incomplete dir, no queues or ratio limits: a finished download
//    is the plain file under download-dir, and every torrent starts at once and keeps seeding.

import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnDaemon, untilAnswering } from './daemon.ts'
import { freePortOn } from './torrent-file.ts'

const DAEMON = 'transmission-daemon'
const START_TIMEOUT_MS = 15_000

export const hasTransmission = spawnSync(DAEMON, ['--version'], { stdio: 'ignore' }).status === 0

/** Transmission's `encryption` setting (settings.json: 0, 1, 2). */
export type Encryption = 'tolerated' | 'preferred' | 'required'
const ENCRYPTION_SETTING: Record<Encryption, number> = { tolerated: 0, preferred: 1, required: 2 }

export interface TorrentStatus {
  id: number
  percentDone: number
  /** 0 stopped, 1-2 verifying, 3-4 downloading, 5-6 seeding (rpc-spec.txt 3.3). */
  status: number
  error: number
  errorString: string
  peersConnected: number
}

export interface Transmission {
  /** The loopback address it listens and announces on. */
  readonly address: string
  /** Where torrents added without their own `downloadDir` are stored. */
  readonly downloadDir: string
  rpc<T = Record<string, unknown>>(method: string, args?: Record<string, unknown>): Promise<T>
  /** Adds a .torrent; `downloadDir` holding the data makes Transmission verify and seed it. */
  add(torrent: Uint8Array, downloadDir?: string): Promise<number>
  status(id: number): Promise<TorrentStatus>
  setEncryption(mode: Encryption): Promise<void>
  /** Its output so far (errors only, message-level 1). */
  output(): string
  /** SIGTERM, then SIGKILL if it lingers; removes its directories. */
  stop(): Promise<void>
}

/** Starts transmission-daemon on `address` and resolves once its RPC answers. */
export async function startTransmission(
  address: string,
  encryption: Encryption = 'preferred',
): Promise<Transmission> {
  const home = mkdtempSync(join(tmpdir(), 'monsoon-transmission-'))
  const configDir = join(home, 'config')
  const downloadDir = join(home, 'downloads')
  mkdirSync(configDir)
  mkdirSync(downloadDir)
  const rpcPort = await freePortOn(address)
  const settings = {
    'bind-address-ipv4': address,
    'bind-address-ipv6': '::1',
    'peer-port': await freePortOn(address),
    'peer-port-random-on-start': false,
    'port-forwarding-enabled': false,
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    'utp-enabled': false,
    'blocklist-enabled': false,
    encryption: ENCRYPTION_SETTING[encryption],
    'rpc-enabled': true,
    'rpc-bind-address': address,
    'rpc-port': rpcPort,
    'rpc-whitelist-enabled': true,
    'rpc-whitelist': '127.0.0.*',
    'rpc-authentication-required': false,
    'rpc-host-whitelist-enabled': false,
    'download-dir': downloadDir,
    'incomplete-dir-enabled': false,
    'watch-dir-enabled': false,
    'rename-partial-files': false,
    'start-added-torrents': true,
    'ratio-limit-enabled': false,
    'idle-seeding-limit-enabled': false,
    'speed-limit-up-enabled': false,
    'speed-limit-down-enabled': false,
    'alt-speed-enabled': false,
    'download-queue-enabled': false,
    'seed-queue-enabled': false,
    'queue-stalled-enabled': false,
    'message-level': 1,
  }
  writeFileSync(join(configDir, 'settings.json'), JSON.stringify(settings, null, 2))

  const daemon = spawnDaemon(DAEMON, ['-f', '-g', configDir], home)

  const url = `http://${address}:${rpcPort}/transmission/rpc`
  let sessionId = ''
  async function rpc<T>(method: string, args: Record<string, unknown> = {}): Promise<T> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'x-transmission-session-id': sessionId },
        body: JSON.stringify({ method, arguments: args }),
      })
      // rpc-spec.txt 2.3.1: a 409 hands out the session id to send from then on (CSRF).
      if (res.status === 409) {
        sessionId = res.headers.get('x-transmission-session-id') ?? ''
        continue
      }
      const body = (await res.json()) as { result: string; arguments: T }
      if (body.result !== 'success') throw new Error(`transmission ${method}: ${body.result}`)
      return body.arguments
    }
    throw new Error(`transmission ${method}: no session id`)
  }

  await untilAnswering(
    daemon,
    async () => (await rpc('session-get', { fields: ['version'] }), true),
    START_TIMEOUT_MS,
  )

  return {
    address,
    downloadDir,
    rpc,
    async add(torrent, dir) {
      const added = await rpc<{ 'torrent-added'?: { id: number } }>('torrent-add', {
        metainfo: Buffer.from(torrent).toString('base64'),
        'download-dir': dir ?? downloadDir,
        paused: false,
      })
      if (!added['torrent-added']) throw new Error('transmission: torrent not added')
      return added['torrent-added'].id
    },
    async status(id) {
      const fields = ['id', 'percentDone', 'status', 'error', 'errorString', 'peersConnected']
      const { torrents } = await rpc<{ torrents: TorrentStatus[] }>('torrent-get', {
        ids: [id],
        fields,
      })
      if (!torrents[0]) throw new Error(`transmission: no torrent ${id}`)
      return torrents[0]
    },
    async setEncryption(mode) {
      await rpc('session-set', { encryption: mode })
    },
    output: daemon.output,
    stop: daemon.stop,
  }
}
