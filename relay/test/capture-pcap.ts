// A packet capture on the loopback interface for tests that check what crosses the wire:
// runs Debian's tcpdump (root or CAP_NET_RAW), then reads its pcap file back as TCP byte
// streams, one per direction of each connection, reassembled by sequence number — so a
// string split over two segments is still found.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'

export const TCPDUMP = ['/usr/bin/tcpdump', '/usr/sbin/tcpdump'].find(
  (path) => spawnSync(path, ['--version']).status === 0,
)

export interface Capture {
  /** Stops tcpdump and returns the TCP payload streams it saw. */
  stop(): Promise<Buffer[]>
}

/** Captures TCP on `lo` to or from any of `ports` into `file`. Resolves once listening. */
export async function captureLoopback(file: string, ports: number[]): Promise<Capture> {
  if (!TCPDUMP) throw new Error('tcpdump is not installed (apt-get install tcpdump)')
  const filter = `tcp and (${ports.map((p) => `port ${p}`).join(' or ')})`
  // -Z root: keep root so the file can be written into a test's private directory.
  // --immediate-mode: without it, packets wait in the kernel's ring-buffer blocks and a
  // short capture can end with none written (seen on this project's VMs). -B: a larger
  // kernel buffer, so a busy loopback drops no packet of ours.
  const child: ChildProcess = spawn(
    TCPDUMP,
    ['-i', 'lo', '-U', '-n', '--immediate-mode', '-B', '32768', '-Z', 'root', '-w', file, filter],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let stderr = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 15_000)
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      if (stderr.includes('listening on')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`tcpdump exited with ${code}: ${stderr}`))
    })
  })
  return {
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      // Packets already on the wire may still be on their way to tcpdump: let them land.
      await new Promise((resolve) => setTimeout(resolve, 500))
      child.kill('SIGINT')
      await exited
      return tcpStreams(readFileSync(file))
    },
  }
}

/** The TCP payload of every flow (one direction of a connection) in a pcap file, in order. */
export function tcpStreams(pcap: Buffer): Buffer[] {
  const magic = pcap.readUInt32LE(0)
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d
  if (!le && pcap.readUInt32BE(0) !== 0xa1b2c3d4 && pcap.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error('not a pcap file')
  }
  const u32 = (at: number) => (le ? pcap.readUInt32LE(at) : pcap.readUInt32BE(at))
  const linkType = u32(20)
  const linkHeader = linkType === 1 ? 14 : linkType === 113 ? 16 : linkType === 276 ? 20 : -1
  if (linkHeader < 0) throw new Error(`link type ${linkType} is not handled`)
  const flows = new Map<string, { seq: number; data: Buffer }[]>()
  for (let at = 24; at + 16 <= pcap.length;) {
    const captured = u32(at + 8)
    const packet = pcap.subarray(at + 16, at + 16 + captured)
    at += 16 + captured
    const ip = packet.subarray(linkHeader)
    let tcp: Buffer
    let src: string
    let dst: string
    if (ip[0] >> 4 === 4) {
      if (ip[9] !== 6) continue
      tcp = ip.subarray((ip[0] & 0x0f) * 4, ip.readUInt16BE(2))
      src = ip.subarray(12, 16).join('.')
      dst = ip.subarray(16, 20).join('.')
    } else if (ip[0] >> 4 === 6) {
      if (ip[6] !== 6) continue
      tcp = ip.subarray(40, 40 + ip.readUInt16BE(4))
      src = ip.subarray(8, 24).toString('hex')
      dst = ip.subarray(24, 40).toString('hex')
    } else {
      continue
    }
    const data = tcp.subarray((tcp[12] >> 4) * 4)
    if (data.length === 0) continue
    const key = `${src}:${tcp.readUInt16BE(0)}>${dst}:${tcp.readUInt16BE(2)}`
    let segments = flows.get(key)
    if (!segments) flows.set(key, (segments = []))
    segments.push({ seq: tcp.readUInt32BE(4), data: Buffer.from(data) })
  }
  const out: Buffer[] = []
  for (const segments of flows.values()) {
    // Sequence numbers relative to the first, so a wrap past 2^32 still sorts.
    const base = segments[0].seq
    const rel = (seq: number) => (seq - base + 2 ** 32) % 2 ** 32
    segments.sort((a, b) => rel(a.seq) - rel(b.seq))
    const parts: Buffer[] = []
    let next = 0
    for (const { seq, data } of segments) {
      const start = rel(seq)
      if (start + data.length <= next) continue // a retransmission
      parts.push(data.subarray(Math.max(0, next - start)))
      next = start + data.length
    }
    out.push(Buffer.concat(parts))
  }
  return out
}
