// This browser's node identity (shared/identity.ts: an Ed25519 key, its id the public key)
// as a file the user can keep and bring to another browser. The key lives in the catalog's
// IndexedDB (`node` store, `identity`), where the catalog worker creates it on first use and
// signs listings with it; the Settings page reads and replaces it there, then reloads so the
// worker takes the new key.

import {
  bytesToHex,
  hexToBytes,
  identityFromSecret,
  type NodeIdentity,
} from '../../shared/identity.ts'
import { getNodeValue, openCatalogDb, setNodeValue } from '../catalog/db.ts'

export const IDENTITY_FORMAT = 'monsoon-identity'
/** A real file is about 200 bytes; anything much larger is not one. */
export const MAX_IDENTITY_FILE_BYTES = 4096

export interface IdentityFile {
  format: typeof IDENTITY_FORMAT
  version: 1
  /** The public key, hex: checked against the secret on import. */
  id: string
  /** The 32-byte Ed25519 seed, hex. Whoever holds it can publish as this node. */
  secretKey: string
}

export class IdentityFileError extends Error {
  override name = 'IdentityFileError'
}

export function identityFileText(identity: NodeIdentity): string {
  const file: IdentityFile = {
    format: IDENTITY_FORMAT,
    version: 1,
    id: identity.id,
    secretKey: bytesToHex(identity.secretKey),
  }
  return `${JSON.stringify(file, null, 2)}\n`
}

/** The identity in a file's text; throws IdentityFileError saying what is wrong. */
export function parseIdentityFile(text: string): NodeIdentity {
  if (text.length > MAX_IDENTITY_FILE_BYTES) {
    throw new IdentityFileError('This file is too large to be a Monsoon identity.')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new IdentityFileError('This file is not a Monsoon identity (it is not JSON).')
  }
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>
  if (v.format !== IDENTITY_FORMAT || v.version !== 1) {
    throw new IdentityFileError('This file is not a Monsoon identity.')
  }
  if (typeof v.secretKey !== 'string' || !/^[0-9a-f]{64}$/i.test(v.secretKey)) {
    throw new IdentityFileError('The identity’s secret key is not 32 bytes of hex.')
  }
  const identity = identityFromSecret(hexToBytes(v.secretKey.toLowerCase()))
  if (typeof v.id !== 'string' || v.id.toLowerCase() !== identity.id) {
    throw new IdentityFileError('The identity’s id does not match its key: the file is damaged.')
  }
  return identity
}

/** The stored identity, or null before the catalog worker has made one. */
export async function readStoredIdentity(): Promise<NodeIdentity | null> {
  const db = await openCatalogDb()
  try {
    const secret = await getNodeValue<Uint8Array>(db, 'identity')
    return secret ? identityFromSecret(secret) : null
  } finally {
    db.close()
  }
}

/** Replaces the stored identity. The page must reload for the catalog worker to use it. */
export async function storeIdentity(identity: NodeIdentity): Promise<void> {
  const db = await openCatalogDb()
  try {
    await setNodeValue(db, 'identity', identity.secretKey)
  } finally {
    db.close()
  }
}
