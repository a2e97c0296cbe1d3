// Requests from another source address: on Linux every 127.0.0.0/8 address is the loopback
// interface, so binding a client socket to 127.0.0.x makes the relay see that address, as it
// would see another host (the budgets per address of issue 20 are tested this way).

import { request } from 'node:http'

export interface AnswerFrom {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/** One HTTP request from `localAddress` on a fresh connection. */
export function requestFrom(
  localAddress: string,
  url: string,
  options: { method?: string; body?: string | Uint8Array; headers?: Record<string, string> } = {},
): Promise<AnswerFrom> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', localAddress, agent: false, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

/** POSTs `value` as JSON from `localAddress`; the answer's body parsed as JSON. */
export async function postJsonFrom(
  localAddress: string,
  url: string,
  value: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await requestFrom(localAddress, url, {
    method: 'POST',
    body: JSON.stringify(value),
    headers: { 'Content-Type': 'application/json' },
  })
  return { status: answer.status, body: JSON.parse(answer.body.toString('utf8')) }
}
