// Sharing across NATs, in a lab of Linux network namespaces (e2e/nat/lab.ts; root only): a
// relay at 203.0.113.1 on the lab's "internet", home routers doing cone NAT (MASQUERADE) or
// symmetric NAT (MASQUERADE --random) and dropping unsolicited input from their WAN, one of
// them dropping all UDP in two cases, and a Chromium in each home (e2e/nat/driver.ts). In each
// case a file shared from one home is saved in another with the same SHA-256, and the path
// the peers' connection took is the one the case is about: what Chromium's getStats() says
// was selected, and what the torrent view shows in its peer rows (data-testid="peer-path")
// once the built app has that view.
//
// Cases that need the relay's built-in STUN/TURN server skip, naming the flag, until
// `relay/bin.js --help` lists it. Set MONSOON_NAT_FORCE=1 to run them anyway.

import { expect, test } from '@playwright/test'
import {
  appShowsPeerPaths,
  CASES,
  caseUnavailable,
  runCase,
  type PathReport,
  type PeerPath,
} from './nat/cases.ts'
import { COTURN_PORT, labUnavailable, RELAY_IP } from './nat/lab.ts'

/** The path of the connection that carried the most bytes. */
function mainPath(report: PathReport): PeerPath | undefined {
  const pairs = [...report.stats].sort(
    (a, b) => bytesOf(b) - bytesOf(a) || a.path.localeCompare(b.path),
  )
  return pairs[0]?.path
}
const bytesOf = (p: PathReport['stats'][number]) =>
  Number((p as { bytesSent?: number }).bytesSent ?? 0) +
  Number((p as { bytesReceived?: number }).bytesReceived ?? 0)

test.describe('NAT lab', () => {
  const why = labUnavailable()
  test.skip(why !== null, why ?? '')

  for (const c of CASES) {
    // eslint-disable-next-line no-empty-pattern -- Playwright requires the destructuring.
    test(c.name, async ({}, testInfo) => {
      const missing = process.env.MONSOON_NAT_FORCE ? null : caseUnavailable(c)
      test.skip(missing !== null, missing ?? '')
      test.setTimeout(150_000)

      const log: string[] = []
      try {
        const result = await runCase(c, { timeoutMs: 40_000, log: (line) => log.push(line) })
        const { seeded, fetched } = result

        expect(fetched.bytes).toBe(seeded.bytes)
        expect(fetched.sha256).toBe(seeded.sha256)

        const sides = [
          { side: 'seeder', report: result.seedPaths, allowed: c.seedPaths },
          { side: 'fetcher', report: fetched as PathReport, allowed: c.fetchPaths },
        ]
        const shown = appShowsPeerPaths()
        if (!shown) {
          testInfo.annotations.push({
            type: 'peer-path view missing',
            description: 'the built app has no data-testid="peer-path": checked getStats() only',
          })
        }
        const seen: PeerPath[] = []
        for (const { side, report, allowed } of sides) {
          const path = mainPath(report)
          expect(path, `${side}: a connected peer in getStats()`).toBeDefined()
          seen.push(path!)
          if (allowed) expect(allowed, `${side}'s path (getStats)`).toContain(path)
          if (shown) {
            expect(report.ui, `${side}: peer rows in the torrent view`).not.toBeNull()
            expect(report.ui!.length, `${side}: peer rows in the torrent view`).toBeGreaterThan(0)
            if (allowed) {
              for (const ui of report.ui!) expect(allowed, `${side}'s path (view)`).toContain(ui)
            }
          }
        }
        if (c.some) {
          expect(
            seen.some((p) => c.some!.includes(p)),
            `one side on ${c.some.join(' or ')}; got ${seen.join(', ')}`,
          ).toBe(true)
        }
        if (c.coturn === 'turn') {
          // Relayed by coturn, not by a TURN server of the relay's own (it runs --no-turn).
          const vias = [...result.seedPaths.stats, ...fetched.stats]
            .filter((p) => p.local.type === 'relay')
            .map((p) => String(p.local.url))
          expect(vias.length, 'a relay candidate on one side').toBeGreaterThan(0)
          for (const via of vias) expect(via).toContain(`${RELAY_IP}:${COTURN_PORT}`)
        }
        testInfo.annotations.push({
          type: 'paths',
          description: `seeder ${seen[0]}, fetcher ${seen[1]}; view: ${JSON.stringify([
            result.seedPaths.ui,
            fetched.ui,
          ])}`,
        })
      } finally {
        await testInfo.attach('lab.log', { body: log.join('\n'), contentType: 'text/plain' })
      }
    })
  }
})
