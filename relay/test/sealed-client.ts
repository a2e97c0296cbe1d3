// The test's own requests to relays, sealed as the app seals them (an ephemeral X25519 key
// against the relay's id from GET /health), so a capture sees the test's traffic sealed too.

import { ephemeralSession } from '../../shared/sealed/envelope.ts'
import { sealedFetch } from '../../shared/sealed/client.ts'

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n))
const ids = new Map<string, string>()

/** `method path` on the relay at `url` through its tunnel; the status and parsed JSON. */
export async function sealedJson(
  url: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  let id = ids.get(url)
  if (!id) {
    id = ((await (await fetch(`${url}/health`)).json()) as { id: string }).id
    ids.set(url, id)
  }
  const answer = await sealedFetch(
    url,
    ephemeralSession(id, random),
    {
      method: body === undefined ? 'GET' : 'POST',
      path,
      contentType: body === undefined ? undefined : 'application/json',
      body: new TextEncoder().encode(body === undefined ? '' : JSON.stringify(body)),
    },
    { maxBytes: 8 << 20 },
  )
  return {
    status: answer.status,
    body: JSON.parse(new TextDecoder().decode(answer.body)) as Record<string, unknown>,
  }
}
