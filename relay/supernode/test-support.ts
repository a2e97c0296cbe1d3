// Supernode records for tests, signed quickly with OpenSSL (node:crypto) as the catalog's
// FastSigner does for listings: Ed25519 is deterministic (RFC 8032 §5.1.6), so the bytes
// are the ones noble would make, and a spam test can sign 10,000 records in a second.

import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto'
import {
  SUPERNODE_RECORD_VERSION,
  supernodeSigningBytes,
  type SupernodeRecord,
  type SupernodeRole,
} from '../../shared/supernode.ts'

/** DER PKCS#8 header of an Ed25519 private key (RFC 8410 §7); the 32-byte seed follows. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export class RecordSigner {
  readonly id: string
  readonly #key: KeyObject

  constructor(secretKey: Uint8Array = crypto.getRandomValues(new Uint8Array(32))) {
    this.#key = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, secretKey]),
      format: 'der',
      type: 'pkcs8',
    })
    const spki = createPublicKey(this.#key).export({ format: 'der', type: 'spki' })
    this.id = spki.subarray(spki.length - 32).toString('hex')
  }

  /** A signed record; `url` must already be in origin form. */
  record(meta: {
    seq: number
    ts: number
    role?: SupernodeRole
    url?: string
    id?: string
  }): SupernodeRecord {
    const unsigned: Omit<SupernodeRecord, 'sig'> = {
      v: SUPERNODE_RECORD_VERSION,
      id: meta.id ?? this.id,
      urls: [meta.url ?? `https://n${this.id.slice(0, 8)}.example`],
      role: meta.role ?? 'supernode',
      capacity: { maxHashes: 1000, maxPeers: 10_000, bandwidth: 100_000 },
      load: { hashes: 0, peers: 0, bandwidth: 0 },
      seq: meta.seq,
      ts: meta.ts,
    }
    const sig = sign(null, supernodeSigningBytes(unsigned), this.#key).toString('hex')
    return { ...unsigned, sig }
  }
}
