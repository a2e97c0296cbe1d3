// The app's WebTorrent tracker signalling to relays on plain HTTP, sealed (ARCHITECTURE.md,
// "Transport and encryption"; shared/sealed/stream.ts). The WebTorrent bundle takes the
// global `WebSocket` when it is evaluated and opens every tracker socket with `new
// WebSocket(url)`, so this module, imported before the bundle, puts a WebSocket in its place
// that seals `ws:` sockets to Monsoon relays: it asks the relay's node id once per origin
// (GET /v1/hello, as the catalog's sealed requests do), opens the socket with the
// subprotocol SEALED_WS_PROTOCOL under a key made for that socket alone, and fires open,
// message, close and error as a WebSocket does, with the tracker's JSON as text.
// Everything else (`wss:`, sockets that ask for a subprotocol of their own, servers that give
// no node id) gets the browser's own WebSocket, untouched. An origin that gave an id is never
// signalled in clear again in this page: if it stops giving one, its sockets fail.

import { BoundedMap } from '../../shared/bounded-map.ts'
import { ephemeralSession, type RandomBytes } from '../../shared/sealed/envelope.ts'
import { helloNodeId } from '../../shared/sealed/client.ts'
import { SEALED_WS_PROTOCOL, SealedStream } from '../../shared/sealed/stream.ts'

/** Relays whose id this page asked for: more than any page talks to. */
const MAX_RELAY_IDS = 256
/** GET /v1/hello is abandoned after this; the tracker client retries the socket later. */
const HELLO_TIMEOUT_MS = 10_000
/** Close code of a relay that was sealed to under another node id (relay/tracker/ws-sealed.ts):
 * its id is asked again before the next socket. */
const WRONG_RECEIVER = 4421

export interface SealingOptions {
  /** The node id of the relay at an http: origin; null when it gives none (not a relay of
   * ours). Default: GET /v1/hello, cached per origin. */
  relayIds?: RelayIds
  nowSeconds?: () => number
  randomBytes?: RandomBytes
}

/** Node ids of relays, by http: origin, each asked once per page. */
export class RelayIds {
  readonly #ids = new BoundedMap<string, Promise<string | null>>({
    maxSize: MAX_RELAY_IDS,
    order: 'oldest',
  })
  /** Origins that gave an id once: never in clear again. */
  readonly #sealed = new Set<string>()
  readonly #fetch: typeof fetch

  constructor(fetchImpl: typeof fetch = (...args) => fetch(...args)) {
    this.#fetch = fetchImpl
  }

  /** The id, or null for a server that is not a relay of ours; throws when unreachable, or
   * when a relay that gave an id gives none now. */
  get(origin: string): Promise<string | null> {
    let id = this.#ids.get(origin)
    if (!id) {
      id = this.#hello(origin).then((found) => {
        if (found !== null) this.#sealed.add(origin)
        else if (this.#sealed.has(origin)) throw new Error(`${origin} no longer gives a node id`)
        return found
      })
      // A failure is not remembered: the next socket asks again.
      id.catch(() => this.#ids.delete(origin))
      this.#ids.set(origin, id)
    }
    return id
  }

  /** The relay said it has another id now. */
  forget(origin: string): void {
    this.#ids.delete(origin)
  }

  async #hello(origin: string): Promise<string | null> {
    const res = await this.#fetch(`${origin}/v1/hello`, {
      signal: AbortSignal.timeout(HELLO_TIMEOUT_MS),
    })
    return helloNodeId(res)
  }
}

/** `Native` with `ws:` sockets to Monsoon relays sealed; same statics and prototype. */
export function sealingWebSocket(
  Native: typeof WebSocket,
  options: SealingOptions = {},
): typeof WebSocket {
  const deps: Deps = {
    Native,
    relayIds: options.relayIds ?? new RelayIds(),
    now: options.nowSeconds ?? (() => Math.floor(Date.now() / 1000)),
    random: options.randomBytes ?? ((n) => crypto.getRandomValues(new Uint8Array(n))),
  }
  return new Proxy(Native, {
    construct(target, args: ConstructorParameters<typeof WebSocket>) {
      const [url, protocols] = args
      const href = String(url)
      const wanted = protocols === undefined || (Array.isArray(protocols) && !protocols.length)
      if (!href.startsWith('ws:') || !wanted) return Reflect.construct(target, args) as object
      return new SealedWebSocket(href, deps)
    },
  })
}

/** Makes the page's `WebSocket` a sealing one (once); a no-op where there is none. */
export function installSealedWebSocket(options?: SealingOptions): void {
  const g = globalThis as { WebSocket?: typeof WebSocket }
  if (typeof g.WebSocket !== 'function' || installed.has(g.WebSocket)) return
  const Sealing = sealingWebSocket(g.WebSocket, options)
  installed.add(Sealing)
  g.WebSocket = Sealing
}

const installed = new WeakSet<typeof WebSocket>()

interface Deps {
  Native: typeof WebSocket
  relayIds: RelayIds
  now: () => number
  random: RandomBytes
}

type Handler<E extends Event> = ((this: WebSocket, ev: E) => unknown) | null

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** A WebSocket to a relay whose frames are sealed when it gives a node id (in clear when it
 * gives none). What the caller sends and receives is the tracker's text, either way. */
class SealedWebSocket extends EventTarget {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3
  readonly CONNECTING = 0
  readonly OPEN = 1
  readonly CLOSING = 2
  readonly CLOSED = 3

  readonly url: string
  readonly protocol = ''
  readonly extensions = ''
  binaryType: BinaryType = 'blob'
  readyState = 0
  onopen: Handler<Event> = null
  onmessage: Handler<MessageEvent> = null
  onclose: Handler<CloseEvent> = null
  onerror: Handler<Event> = null

  readonly #deps: Deps
  readonly #origin: string
  #native: WebSocket | null = null
  /** null: in clear (no node id); else sealed under a key made for this socket. */
  #session: ReturnType<typeof ephemeralSession> | null = null
  #stream: SealedStream | null = null
  readonly #queue: Uint8Array[] = []
  #queued = 0

  constructor(url: string, deps: Deps) {
    super()
    this.#deps = deps
    const parsed = new URL(url)
    this.url = parsed.href
    this.#origin = `http://${parsed.host}`
    deps.relayIds.get(this.#origin).then(
      (id) => this.#connect(id),
      () => this.#fail(1006, 'the relay did not give its node id'),
    )
  }

  get bufferedAmount(): number {
    return (this.#native?.bufferedAmount ?? 0) + this.#queued
  }

  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.readyState !== this.OPEN && this.readyState !== this.CONNECTING) return
    let bytes: Uint8Array
    if (typeof data === 'string') bytes = encoder.encode(data)
    else if (ArrayBuffer.isView(data)) {
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
    } else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data.slice(0))
    else throw new TypeError('a sealed tracker socket sends text or bytes, not blobs')
    if (this.readyState === this.CONNECTING || !this.#native) {
      this.#queue.push(bytes)
      this.#queued += bytes.length
      return
    }
    this.#write(bytes)
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= this.CLOSING) return
    this.readyState = this.CLOSING
    if (this.#native) this.#native.close(code, reason)
    // else: #connect sees CLOSING and ends the socket without opening one.
  }

  #connect(id: string | null): void {
    if (this.readyState !== this.CONNECTING) {
      this.#fail(1006, 'closed before it opened')
      return
    }
    const { Native, random } = this.#deps
    let native: WebSocket
    try {
      if (id !== null) this.#session = ephemeralSession(id, random)
      native = id === null ? new Native(this.url) : new Native(this.url, SEALED_WS_PROTOCOL)
    } catch {
      this.#fail(1006, 'cannot open the socket')
      return
    }
    this.#native = native
    native.binaryType = 'arraybuffer'
    let opened = false
    native.onopen = () => {
      opened = true
      if (this.#session && native.protocol !== SEALED_WS_PROTOCOL) {
        native.close(1002, 'sealed subprotocol not accepted')
        return
      }
      if (this.readyState !== this.CONNECTING) {
        native.close()
        return
      }
      this.readyState = this.OPEN
      this.#fire(new Event('open'))
      for (const bytes of this.#queue.splice(0)) this.#write(bytes)
      this.#queued = 0
    }
    native.onmessage = (ev: MessageEvent) => this.#receive(ev.data)
    native.onerror = () => this.#fire(new Event('error'))
    native.onclose = (ev: CloseEvent) => {
      // Refused: the relay may come back as another node (a new key, another relay on its
      // port), so the next socket asks its id again rather than being closed 4421 first.
      if (ev.code === WRONG_RECEIVER || !opened) this.#deps.relayIds.forget(this.#origin)
      this.readyState = this.CLOSED
      this.#fire(closeEvent(ev.code, ev.reason, ev.wasClean))
    }
  }

  #write(bytes: Uint8Array): void {
    const native = this.#native!
    if (!this.#session) {
      native.send(decoder.decode(bytes))
      return
    }
    const { now, random } = this.#deps
    if (this.#stream) {
      native.send(this.#stream.seal(bytes, now(), random))
      return
    }
    const opened = SealedStream.open(this.#session, bytes, now(), random)
    this.#stream = opened.stream
    native.send(opened.frame)
  }

  #receive(data: unknown): void {
    if (this.readyState !== this.OPEN) return
    if (!this.#session) {
      this.#fire(new MessageEvent('message', { data }))
      return
    }
    let text: string
    try {
      if (!this.#stream || !(data instanceof ArrayBuffer)) throw new Error('not a sealed frame')
      text = decoder.decode(this.#stream.open(new Uint8Array(data)).plaintext)
    } catch {
      // A frame that does not open: tampered with, or not this stream's. Nothing after it
      // can be trusted.
      this.#fire(new Event('error'))
      this.readyState = this.CLOSING
      this.#native?.close(1008, 'sealed frame did not open')
      return
    }
    this.#fire(new MessageEvent('message', { data: text }))
  }

  /** Ends a socket that never opened, as a browser does: error, then close. */
  #fail(code: number, reason: string): void {
    if (this.readyState === this.CLOSED) return
    const wasOpening = this.readyState === this.CONNECTING
    this.readyState = this.CLOSED
    if (wasOpening) this.#fire(new Event('error'))
    this.#fire(closeEvent(code, reason, false))
  }

  #fire(ev: Event): void {
    const handler = (this as unknown as Record<string, unknown>)[`on${ev.type}`]
    if (typeof handler === 'function') handler.call(this, ev)
    this.dispatchEvent(ev)
  }
}

/** A CloseEvent (Node 20 has none: an Event with the same fields). */
function closeEvent(code: number, reason: string, wasClean: boolean): CloseEvent {
  if (typeof CloseEvent === 'function') return new CloseEvent('close', { code, reason, wasClean })
  return Object.assign(new Event('close'), { code, reason, wasClean }) as CloseEvent
}

// In a page, before the WebTorrent bundle is evaluated (engine.ts imports this first).
if (typeof document !== 'undefined') installSealedWebSocket()
