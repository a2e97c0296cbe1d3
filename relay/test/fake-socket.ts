// A stand-in for a `ws` WebSocket in unit tests of WsTrackerConnection: records what the
// relay sends, and lets a test close it or fill its send buffer. Real sockets are exercised
// by the integration tests in this folder.

import type { WsLike } from '../tracker/websocket.ts'

export class FakeSocket implements WsLike {
  readonly sent: Record<string, unknown>[] = []
  bufferedAmount = 0
  readyState = 1

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>)
  }

  /** Messages sent since the last call. */
  take(): Record<string, unknown>[] {
    return this.sent.splice(0)
  }
}
