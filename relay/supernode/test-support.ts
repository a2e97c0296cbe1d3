// Supernode records for tests, signed quickly with OpenSSL (../openssl-signer.ts), so a
// spam test can sign 10,000 records in a second.

import { createAdmission, type Admission } from '../../shared/admission.ts'
import { OpenSslSigner } from '../openssl-signer.ts'
import {
  SUPERNODE_RECORD_VERSION,
  supernodeSigningBytes,
  type SupernodeRecord,
  type SupernodeRole,
} from '../../shared/supernode.ts'

export class RecordSigner extends OpenSslSigner {
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
    const sig = this.signHex(supernodeSigningBytes(unsigned))
    return { ...unsigned, sig }
  }

  /** This key's signed admission of `id` (shared/admission.ts). */
  admit(id: string, ts: number): Admission {
    return createAdmission(this.id, id, ts, (m) => this.signHex(m))
  }
}
