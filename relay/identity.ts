// The relay's node identity (ARCHITECTURE.md, "Identities and signatures"): an Ed25519 key
// pair kept in <dataDir>/node.key, created on first start and read on every start after.
// The node id (hex public key) is how other nodes know this relay, so the file is never
// replaced silently: one that cannot be read stops the relay with a message saying what to
// do. The file is created with mode 0600 and written whole before it appears (written to a
// temporary file, synced, then hard-linked into place, which fails if another process got
// there first), so a crash during creation never leaves half a key behind.
//
// Format, one JSON object (the id is stored to catch a damaged secret):
//   {"type":"monsoon-node-key","v":1,"secretKey":"<64 hex>","id":"<64 hex>"}

import { randomBytes as nodeRandomBytes } from 'node:crypto'
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import {
  bytesToHex,
  createIdentity,
  hexToBytes,
  identityFromSecret,
  type NodeIdentity,
} from '../shared/identity.ts'

export const NODE_KEY_FILE = 'node.key'
const KEY_TYPE = 'monsoon-node-key'
const KEY_VERSION = 1
/** A real key file is ~190 bytes; anything much larger is not one, and is not read whole. */
const MAX_KEY_FILE_BYTES = 4096
const HEX64 = /^[0-9a-f]{64}$/

export class NodeKeyError extends Error {
  override name = 'NodeKeyError'
}

export interface LoadedIdentity {
  identity: NodeIdentity
  /** The key file's path. */
  path: string
  /** True when this call created the key (first start). */
  created: boolean
  /** True when group or others may read the file (POSIX): worth a warning. */
  readableByOthers: boolean
}

/** Reads <dataDir>/node.key, creating it first if there is none. Throws NodeKeyError. */
export function loadNodeIdentity(
  dataDir: string,
  randomBytes: (n: number) => Uint8Array = (n) => new Uint8Array(nodeRandomBytes(n)),
): LoadedIdentity {
  const path = join(dataDir, NODE_KEY_FILE)
  let created = false
  if (!exists(path)) created = createKeyFile(dataDir, path, createIdentity(randomBytes))
  const identity = readKeyFile(path)
  const mode = statSync(path).mode
  const readableByOthers = process.platform !== 'win32' && (mode & 0o077) !== 0
  return { identity, path, created, readableByOthers }
}

function readKeyFile(path: string): NodeIdentity {
  const broken = (why: string): never => {
    throw new NodeKeyError(
      `${path} is not a usable node key (${why}). The relay will not replace its identity ` +
        'on its own: restore the file from a backup, or move it away to start with a new ' +
        'identity (other nodes will see a new relay).',
    )
  }
  let size: number
  try {
    size = statSync(path).size
  } catch (err) {
    return broken(`cannot stat it: ${(err as Error).message}`)
  }
  if (size > MAX_KEY_FILE_BYTES) broken(`${size} bytes, too large`)
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    return broken((err as Error).message)
  }
  if (typeof parsed !== 'object' || parsed === null) return broken('not a JSON object')
  const key = parsed as Record<string, unknown>
  if (key.type !== KEY_TYPE || key.v !== KEY_VERSION) {
    broken(`type must be "${KEY_TYPE}", version ${KEY_VERSION}`)
  }
  if (typeof key.secretKey !== 'string' || !HEX64.test(key.secretKey)) {
    broken('secretKey must be 64 lowercase hex chars')
  }
  const identity = identityFromSecret(hexToBytes(key.secretKey as string))
  if (key.id !== identity.id) broken('its id does not match its secret key: the file is damaged')
  return identity
}

/** Writes the key; false when another process created the file first (theirs is kept). */
function createKeyFile(dataDir: string, path: string, identity: NodeIdentity): boolean {
  const text =
    JSON.stringify({
      type: KEY_TYPE,
      v: KEY_VERSION,
      secretKey: bytesToHex(identity.secretKey),
      id: identity.id,
    }) + '\n'
  const tmp = join(
    dataDir,
    `.${NODE_KEY_FILE}.${process.pid}.${nodeRandomBytes(6).toString('hex')}`,
  )
  let fd: number
  try {
    fd = openSync(tmp, 'wx', 0o600)
  } catch (err) {
    throw new NodeKeyError(`cannot create ${tmp}: ${(err as Error).message}`)
  }
  try {
    try {
      fchmodSync(fd, 0o600) // whatever the umask
      writeSync(fd, text)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    try {
      linkSync(tmp, path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw new NodeKeyError(`cannot create ${path}: ${(err as Error).message}`)
    }
    syncDirectory(dataDir)
    return true
  } finally {
    rmSync(tmp, { force: true })
  }
}

/** Makes the new directory entry durable; not every platform can open a directory. */
function syncDirectory(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // Windows: entries are durable once the file is closed.
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

function exists(path: string): boolean {
  try {
    statSync(path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new NodeKeyError(`cannot read ${path}: ${(err as Error).message}`)
  }
}
