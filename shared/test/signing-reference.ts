// The bytes a listing's signature covers, as the bencode package writes them: the reference
// that shared/listing-encoding.ts's own encoder is checked against (listing-encoding.test.ts,
// listing-check.test.ts). Tests only.

import bencode from 'bencode'
import { hexToBytes } from '../identity.ts'
import type { SigningFields } from '../listing-encoding.ts'

export function referenceSigningBytes(l: SigningFields): Uint8Array {
  return bencode.encode({
    cat: l.category,
    desc: l.description,
    files: l.files,
    fl: l.fileList.map((f) => [f.path, f.size]),
    ih: hexToBytes(l.infoHash),
    name: l.name,
    pk: hexToBytes(l.publisher),
    seq: l.seq,
    size: l.size,
    ts: l.ts,
    v: l.v,
  })
}
