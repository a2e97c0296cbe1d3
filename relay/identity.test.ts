import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { bytesToHex, identityFromSecret } from '../shared/identity.ts'
import { NODE_KEY_FILE, NodeKeyError, loadNodeIdentity } from './identity.ts'

const root = mkdtempSync(join(tmpdir(), 'monsoon-identity-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let dirs = 0
const freshDir = () => {
  const dir = join(root, `d${dirs++}`)
  mkdirSync(dir)
  return dir
}
const posix = process.platform !== 'win32'

/** The NodeKeyError message a load fails with, the file left exactly as it was. */
function refusal(dir: string): string {
  const path = join(dir, NODE_KEY_FILE)
  const before = readFileSync(path)
  let error: unknown
  try {
    loadNodeIdentity(dir)
  } catch (err) {
    error = err
  }
  expect(error).toBeInstanceOf(NodeKeyError)
  expect(readFileSync(path)).toEqual(before)
  return (error as Error).message
}

describe('relay node identity', () => {
  it('creates node.key (mode 0600) on first start and reads the same identity after', () => {
    const dir = freshDir()
    const first = loadNodeIdentity(dir)
    expect(first.created).toBe(true)
    expect(first.identity.id).toMatch(/^[0-9a-f]{64}$/)
    if (posix) expect(statSync(first.path).mode & 0o777).toBe(0o600)
    expect(first.readableByOthers).toBe(false)
    const again = loadNodeIdentity(dir)
    expect(again.created).toBe(false)
    expect(again.identity.id).toBe(first.identity.id)
    expect(again.identity.secretKey).toEqual(first.identity.secretKey)
    expect(readdirSync(dir)).toEqual([NODE_KEY_FILE])
  })

  it('stores the secret it was given, in the documented format', () => {
    const dir = freshDir()
    const seed = new Uint8Array(32).fill(7)
    const { identity } = loadNodeIdentity(dir, () => seed.slice())
    expect(identity.id).toBe(identityFromSecret(seed).id)
    expect(JSON.parse(readFileSync(join(dir, NODE_KEY_FILE), 'utf8'))).toEqual({
      type: 'monsoon-node-key',
      v: 1,
      secretKey: bytesToHex(seed),
      id: identity.id,
    })
  })

  it('refuses a corrupt, short, damaged or oversized key file and leaves it alone', () => {
    const valid = (dir: string) => {
      loadNodeIdentity(dir)
      return readFileSync(join(dir, NODE_KEY_FILE), 'utf8')
    }
    const cases: [string, (text: string) => string | Buffer, RegExp][] = [
      ['empty', () => '', /Unexpected end|JSON/],
      ['truncated', (t) => t.slice(0, 40), /JSON|Unterminated|Unexpected/],
      ['garbage', () => Buffer.from([0, 1, 2, 0xff, 0xfe]), /JSON|Unexpected/],
      ['short secret', (t) => t.replace(/"secretKey":"[0-9a-f]{2}/, '"secretKey":"'), /64/],
      [
        'damaged secret',
        (t) => t.replace(/"secretKey":"(.)/, (_m, c) => `"secretKey":"${c === '0' ? '1' : '0'}`),
        /damaged/,
      ],
      ['other type', (t) => t.replace('monsoon-node-key', 'ssh-key'), /type/],
      ['a list', () => '[]', /type/],
      ['oversized', (t) => t + ' '.repeat(5000), /too large/],
    ]
    for (const [what, damage, reason] of cases) {
      const dir = freshDir()
      writeFileSync(join(dir, NODE_KEY_FILE), damage(valid(dir)))
      const message = refusal(dir)
      expect(message, what).toMatch(reason)
      expect(message, what).toContain(join(dir, NODE_KEY_FILE))
      expect(message, what).toContain('move it away to start with a new identity')
    }
  })

  it('keeps the key another process wrote first', () => {
    const dir = freshDir()
    const theirs = new Uint8Array(32).fill(9)
    const ours = new Uint8Array(32).fill(1)
    // The other process creates node.key while we are generating ours.
    const loaded = loadNodeIdentity(dir, () => {
      loadNodeIdentity(dir, () => theirs.slice())
      return ours.slice()
    })
    expect(loaded.created).toBe(false)
    expect(loaded.identity.id).toBe(identityFromSecret(theirs).id)
    expect(readdirSync(dir)).toEqual([NODE_KEY_FILE])
  })

  it.skipIf(!posix)('reports a key file others may read', () => {
    const dir = freshDir()
    const { path, identity } = loadNodeIdentity(dir)
    chmodSync(path, 0o644)
    const again = loadNodeIdentity(dir)
    expect(again.readableByOthers).toBe(true)
    expect(again.identity.id).toBe(identity.id)
  })

  it('says so when the data directory is missing', () => {
    expect(() => loadNodeIdentity(join(root, 'no-such-dir'))).toThrow(NodeKeyError)
  })
})
