// qbittorrent-nox (Debian's 4.5.2) as a child process for interop tests, driven over its Web
// API v2 with fetch. Each instance gets a throwaway profile whose qBittorrent.conf is written
// before start:
//  - LegalNotice\Accepted: 4.5 has no --confirm-legal-notice flag; without it the first run
//    waits for a keypress on stdin.
//  - WebUI on 127.0.0.1 and a free port, WebUI\LocalHostAuth=false: no login from localhost.
//    CSRF and Host-header checks off, as fetch sends neither Origin nor the host it expects.
//  - DHT, PeX, LSD and port forwarding (UPnP/NAT-PMP) off: the relay is the only way to meet.
//  - Session\InterfaceAddress: its own 127.0.0.x for BitTorrent, so peers and trackers tell
//    it apart from the other clients on loopback. Its log says it "failed to find" an address
//    other than 127.0.0.1 on any interface, then listens there all the same (all of 127/8 is
//    loopback on Linux).
//  - Session\MultiConnectionsPerIp: every peer on loopback may share one address.
//  - Session\QueueingSystemEnabled=false: a torrent starts at once, never queued.
//  - Session\Encryption: 0 prefers MSE/PE, 1 requires it (libtorrent pe_forced), 2 refuses it.

import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnDaemon, untilAnswering } from './daemon.ts'
import { freePortOn } from './torrent-file.ts'

export const hasQbittorrent =
  spawnSync('qbittorrent-nox', ['--version'], { stdio: 'ignore' }).status === 0

const START_TIMEOUT_MS = 30_000
const POLL_MS = 250

export type QbEncryption = 'prefer' | 'require'

export interface QbOptions {
  /** The loopback address it takes for BitTorrent, e.g. 127.0.0.2. */
  address: string
  encryption?: QbEncryption
}

/** The fields of /api/v2/torrents/info the tests read. */
export interface QbTorrent {
  hash: string
  name: string
  state: string
  progress: number
  save_path: string
  /** Bytes sent to peers, in all sessions. */
  uploaded: number
}

export interface Qbittorrent {
  readonly webUi: string
  readonly address: string
  readonly profile: string
  /** Adds a .torrent file, or a magnet link, saving into `savePath`. */
  add(source: Uint8Array | string, savePath: string): Promise<void>
  /** The torrent as the Web API lists it, or undefined before it is known. */
  torrent(infoHash: string): Promise<QbTorrent | undefined>
  /** The messages of its main log (/api/v2/log/main), oldest first. */
  log(): Promise<string[]>
  /** Polls until the torrent has all its data (progress 1, checking done). */
  complete(infoHash: string, timeoutMs: number): Promise<QbTorrent>
  /** What it saw of the trackers and peers, and its log: for failure messages. */
  diagnose(infoHash: string): Promise<string>
  /** SIGTERM, SIGKILL if it lingers; removes the profile. */
  stop(): Promise<void>
}

const ENCRYPTION = { prefer: 0, require: 1 } as const
/** States in which libtorrent has every piece (4.5's /api/v2/torrents/info `state`). */
const HAVE_ALL = new Set(['uploading', 'stalledUP', 'pausedUP', 'queuedUP', 'forcedUP'])

function config(options: QbOptions, torrentPort: number, webUiPort: number, save: string) {
  return [
    '[LegalNotice]',
    'Accepted=true',
    '',
    '[BitTorrent]',
    'Session\\DHTEnabled=false',
    'Session\\PeXEnabled=false',
    'Session\\LSDEnabled=false',
    `Session\\Port=${torrentPort}`,
    `Session\\InterfaceAddress=${options.address}`,
    'Session\\MultiConnectionsPerIp=true',
    'Session\\QueueingSystemEnabled=false',
    `Session\\Encryption=${ENCRYPTION[options.encryption ?? 'prefer']}`,
    `Session\\DefaultSavePath=${save}`,
    '',
    '[Network]',
    'PortForwardingEnabled=false',
    '',
    '[Preferences]',
    'WebUI\\Enabled=true',
    'WebUI\\Address=127.0.0.1',
    `WebUI\\Port=${webUiPort}`,
    'WebUI\\LocalHostAuth=false',
    'WebUI\\CSRFProtection=false',
    'WebUI\\HostHeaderValidation=false',
    '',
  ].join('\n')
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function startQbittorrent(options: QbOptions): Promise<Qbittorrent> {
  const profile = mkdtempSync(join(tmpdir(), 'monsoon-qbt-'))
  const torrentPort = await freePortOn(options.address)
  const webUiPort = await freePortOn('127.0.0.1')
  mkdirSync(join(profile, 'qBittorrent', 'config'), { recursive: true })
  writeFileSync(
    join(profile, 'qBittorrent', 'config', 'qBittorrent.conf'),
    config(options, torrentPort, webUiPort, join(profile, 'downloads')),
  )
  const daemon = spawnDaemon('qbittorrent-nox', [`--profile=${profile}`], profile)
  const webUi = `http://127.0.0.1:${webUiPort}`
  const api = (path: string, init?: RequestInit) => fetch(`${webUi}/api/v2/${path}`, init)
  await untilAnswering(daemon, async () => (await api('app/version')).ok, START_TIMEOUT_MS)

  async function diagnose(infoHash: string): Promise<string> {
    const read = async (path: string) => (await api(path).catch(() => null))?.text()
    return [
      `torrent: ${await read(`torrents/info?hashes=${infoHash}`)}`,
      `trackers: ${await read(`torrents/trackers?hash=${infoHash}`)}`,
      `peers: ${await read(`sync/torrentPeers?hash=${infoHash}`)}`,
      `log: ${await read('log/main')}`,
      `output: ${daemon.output()}`,
    ].join('\n')
  }

  async function torrent(infoHash: string): Promise<QbTorrent | undefined> {
    const res = await api(`torrents/info?hashes=${infoHash}`)
    const list = (await res.json()) as QbTorrent[]
    return list[0]
  }

  async function log(): Promise<string[]> {
    const entries = (await (await api('log/main')).json()) as { message: string }[]
    return entries.map((e) => e.message)
  }

  return {
    webUi,
    address: options.address,
    profile,
    async add(source, savePath) {
      const form = new FormData()
      if (typeof source === 'string') form.set('urls', source)
      else form.set('torrents', new Blob([new Uint8Array(source)]), 'added.torrent')
      form.set('savepath', savePath)
      const res = await api('torrents/add', { method: 'POST', body: form })
      const text = await res.text()
      if (!res.ok || text.trim() !== 'Ok.') throw new Error(`torrents/add: ${res.status} ${text}`)
    },
    torrent,
    log,
    async complete(infoHash, timeoutMs) {
      const until = Date.now() + timeoutMs
      for (;;) {
        const t = await torrent(infoHash)
        if (t && t.progress === 1 && HAVE_ALL.has(t.state)) return t
        if (Date.now() > until) {
          throw new Error(`qBittorrent did not complete ${infoHash}:\n${await diagnose(infoHash)}`)
        }
        await sleep(POLL_MS)
      }
    },
    diagnose,
    stop: daemon.stop,
  }
}
