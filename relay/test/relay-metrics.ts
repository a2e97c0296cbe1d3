// Reading a running relay's GET /metrics in integration tests: one sample's value, and the
// refusals counted for a reason (relay/refusals.ts).

/** The value of the sample `name{labels}` (labels as the exposition writes them, e.g.
 * `reason="tracker-full"`), 0 when the relay does not list it. */
export async function metricValue(r: { url: string }, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${r.url}/metrics`)).text()
  const prefix = labels ? `${name}{${labels}} ` : `${name} `
  const line = text.split('\n').find((l) => l.startsWith(prefix))
  return line ? Number(line.slice(prefix.length)) : 0
}

/** Refusals the relay counted for `reason` (monsoon_refusals_total). */
export function refusalsFor(r: { url: string }, reason: string): Promise<number> {
  return metricValue(r, 'monsoon_refusals_total', `reason="${reason}"`)
}
