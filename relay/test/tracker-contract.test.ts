// The tracker contract (tracker-contract.ts) run against the HTTP tracker and the WebSocket
// tracker of one real relay process, each driven over real sockets.

import { afterAll, beforeAll } from 'vitest'
import WebSocket from 'ws'
import { startRelay, type RelayProcess } from './relay-process.ts'
import {
  contractPeerId,
  trackerContract,
  type ContractAnnounce,
  type ContractAnswer,
  type TrackerTransport,
} from './tracker-contract.ts'
import {
  announcePath,
  compactPeers,
  decodeDict,
  failureReason,
  scrapeFiles,
  scrapePath,
  type ScrapeCounts,
} from './tracker-wire.ts'

let relay: RelayProcess
beforeAll(async () => {
  relay = await startRelay()
})
afterAll(() => relay?.stop())

/** Test peer n listens on port BASE_PORT + n: how an HTTP answer's peers are told apart. */
const BASE_PORT = 7000

async function httpGet(path: string): Promise<Uint8Array> {
  const res = await fetch(relay.url + path)
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`)
  return new Uint8Array(await res.arrayBuffer())
}

function httpTransport(): TrackerTransport {
  return {
    async announce(peer: number, req: ContractAnnounce): Promise<ContractAnswer> {
      const body = await httpGet(
        announcePath({
          infoHash: req.infoHash,
          peerId: req.peerId ?? contractPeerId(peer),
          port: BASE_PORT + peer,
          left: req.left,
          event: req.event,
          numwant: req.numwant,
        }),
      )
      const failure = failureReason(body)
      if (failure !== undefined) return { failure, peers: [] }
      const answer = decodeDict(body)
      return {
        complete: answer.complete as number,
        incomplete: answer.incomplete as number,
        peers: compactPeers(answer.peers).map((p) => p.port - BASE_PORT),
      }
    },
    scrape: async (hashes) => scrapeFiles(await httpGet(scrapePath(hashes))),
    close: async () => {},
  }
}

type Message = Record<string, unknown>
const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1')
const hexOf = (latin: string) => Buffer.from(latin, 'latin1').toString('hex')

/** One test peer's WebSocket: messages kept until a test takes them. */
class PeerSocket {
  readonly #inbox: Message[] = []
  readonly #waiting: { match: (m: Message) => boolean; take: (m: Message) => void }[] = []

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as Message
      const i = this.#waiting.findIndex((w) => w.match(message))
      if (i === -1) this.#inbox.push(message)
      else this.#waiting.splice(i, 1)[0]!.take(message)
    })
  }

  /** The first message that `match`es, now or when it comes (within 5 s). */
  next(match: (m: Message) => boolean): Promise<Message> {
    const i = this.#inbox.findIndex(match)
    if (i !== -1) return Promise.resolve(this.#inbox.splice(i, 1)[0]!)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from the tracker')), 5000)
      this.#waiting.push({ match, take: (m) => (clearTimeout(timer), resolve(m)) })
    })
  }

  /** Takes every message held that `match`es. */
  drain(match: (m: Message) => boolean): Message[] {
    const taken = this.#inbox.filter(match)
    for (const m of taken) this.#inbox.splice(this.#inbox.indexOf(m), 1)
    return taken
  }

  send(message: Message): void {
    this.ws.send(JSON.stringify(message))
  }
}

const isOffer = (m: Message) => m.offer !== undefined
const isReply = (action: string) => (m: Message) =>
  m.action === action && !isOffer(m) && m.answer === undefined

function wsTransport(): TrackerTransport {
  const sockets = new Map<number, PeerSocket>()
  let offers = 0

  async function socketOf(peer: number): Promise<PeerSocket> {
    let socket = sockets.get(peer)
    if (!socket) {
      const ws = new WebSocket(relay.wsUrl)
      socket = new PeerSocket(ws)
      sockets.set(peer, socket)
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    }
    return socket
  }

  /** A scrape on `socket` and its answer: answered after every message the relay sent it
   * before (one socket is one ordered stream). */
  async function scrapeOn(socket: PeerSocket, hashes: Uint8Array[]): Promise<Message> {
    socket.send({ action: 'scrape', info_hash: hashes.map(latin1) })
    return socket.next(isReply('scrape'))
  }

  return {
    async announce(peer: number, req: ContractAnnounce): Promise<ContractAnswer> {
      const socket = await socketOf(peer)
      const peerId = latin1(req.peerId ?? contractPeerId(peer))
      const infoHash = latin1(req.infoHash)
      // One offer per peer wanted, as the stock client sends (at most 10 unless asked).
      const count = req.numwant ?? 10
      socket.send({
        action: 'announce',
        info_hash: infoHash,
        peer_id: peerId,
        left: req.left,
        ...(req.event && { event: req.event }),
        ...(req.numwant !== undefined && { numwant: req.numwant }),
        offers: Array.from({ length: count }, () => ({
          offer: { type: 'offer', sdp: 'v=0' },
          offer_id: latin1(contractPeerId(1000 + ++offers)),
        })),
      })
      const answer = await socket.next(isReply('announce'))
      if (typeof answer['failure reason'] === 'string') {
        return { failure: answer['failure reason'], peers: [] }
      }
      // Offers go out right after the answer: each other socket has its offer once a scrape
      // sent on it now is answered.
      const peers: number[] = []
      for (const [other, s] of sockets) {
        if (other === peer) continue
        await scrapeOn(s, [req.infoHash])
        const got = s.drain((m) => isOffer(m) && m.peer_id === peerId && m.info_hash === infoHash)
        if (got.length > 0) peers.push(other)
      }
      return {
        complete: answer.complete as number,
        incomplete: answer.incomplete as number,
        peers,
      }
    },
    async scrape(hashes: Uint8Array[]): Promise<Map<string, ScrapeCounts>> {
      const answer = await scrapeOn(await socketOf(0), hashes)
      const files = answer.files as Record<string, ScrapeCounts>
      return new Map(Object.entries(files).map(([key, counts]) => [hexOf(key), counts]))
    },
    async close() {
      for (const s of sockets.values()) s.ws.close()
    },
  }
}

trackerContract('HTTP tracker', async () => httpTransport())
trackerContract('WebSocket tracker', async () => wsTransport())
