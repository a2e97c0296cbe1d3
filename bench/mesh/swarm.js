// The mesh benchmark's swarm, driven through the app's console hooks (`globalThis.monsoon`,
// app/lib/torrents.svelte.ts): a seeder shares random bytes made in its page (hashed by the
// app's workers, as the Share page does), leechers open its info hash as a share link would,
// and each records on the shared clock (the page origin's wall clock plus its monotonic one,
// as bench/transfer/page/clock.js) when it added the torrent, got its first wire and was done.

/** Seeds `size` random bytes named `name` in the page; resolves once the torrent is ready and
 * has had its first tracker answer (or after ANNOUNCE_WAIT_MS), with its info hash and the
 * bytes' SHA-256. */
export function seedIn(page, { size, name }) {
  return page.evaluate(
    async ({ size, name }) => {
      const ANNOUNCE_WAIT_MS = 15_000
      const data = new Uint8Array(size)
      for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536))
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data))
      const sha256 = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('')
      const { torrent } = globalThis.monsoon.torrents.seed([new File([data], name)])
      const announced = new Promise((resolve) => torrent.once('trackerAnnounce', resolve))
      if (!torrent.ready) await new Promise((resolve) => torrent.once('ready', resolve))
      await Promise.race([announced, new Promise((r) => setTimeout(r, ANNOUNCE_WAIT_MS))])
      return { infoHash: torrent.infoHash, sha256 }
    },
    { size, name },
  )
}

/** Opens the torrent in the page (the app's TorrentClient.open, as a share link does) and
 * starts recording its times in `globalThis.meshBench`; with `numwant`, its announces ask the
 * relay for that many peers only. */
export function leechIn(page, ref, numwant) {
  return page.evaluate(
    ({ ref, numwant }) => {
      const now = () => performance.timeOrigin + performance.now()
      const times = { addAt: now(), firstWireAt: null, doneAt: null }
      globalThis.meshBench = times
      const { torrent } = globalThis.monsoon.torrents.open(ref)
      // Same task as the open: the first announce asks the relay for this many peers only.
      const tracker = globalThis.monsoon.webtorrent()?.tracker
      if (numwant !== undefined && tracker) tracker.getAnnounceOpts = () => ({ numwant })
      torrent.on('wire', () => (times.firstWireAt ??= now()))
      torrent.once('done', () => (times.doneAt = now()))
    },
    { ref, numwant },
  )
}

/** Where the page's download stands. */
export function statusIn(page, infoHash) {
  return page.evaluate((infoHash) => {
    const torrent = globalThis.monsoon.torrents.find(infoHash)?.torrent
    return {
      ...globalThis.meshBench,
      done: torrent?.done === true,
      downloaded: torrent?.downloaded ?? 0,
      peers: torrent?.numPeers ?? 0,
    }
  }, infoHash)
}

/** The SHA-256 of what the page downloaded (read back from its store). */
export function sha256In(page, infoHash) {
  return page.evaluate(async (infoHash) => {
    const torrent = globalThis.monsoon.torrents.find(infoHash).torrent
    const digest = new Uint8Array(
      await crypto.subtle.digest('SHA-256', await torrent.files[0].arrayBuffer()),
    )
    return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('')
  }, infoHash)
}
