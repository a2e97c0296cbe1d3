// A verify worker of the catalog worker (catalog-verify-pool.ts): checks the listings of one
// relay page at a time and answers a byte per value, good or not; a page sent in gzip is
// inflated here and answered as text first.

import { answer, type VerifyReply, type VerifyRequest } from './catalog-verify-pool.ts'

const scope = self as unknown as {
  postMessage(message: VerifyReply, transfer?: Transferable[]): void
  onmessage: ((event: MessageEvent<VerifyRequest>) => void) | null
}

scope.onmessage = (event) =>
  void answer(event.data, (reply) =>
    'good' in reply ? scope.postMessage(reply, [reply.good.buffer]) : scope.postMessage(reply),
  )
