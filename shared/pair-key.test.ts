import { describe, expect, it } from 'vitest'
import { createIdentity } from './identity.ts'
import { pairKey } from './pair-key.ts'

describe('pairKey', () => {
  it('gives both sides of a pair the same key, and every other pair or purpose another', () => {
    const [a, b, c] = [createIdentity(), createIdentity(), createIdentity()]
    const ab = pairKey(a.secretKey, a.id, b.id, 'announce')
    expect(pairKey(b.secretKey, b.id, a.id, 'announce')).toEqual(ab)
    expect(ab).toHaveLength(32)
    expect(pairKey(a.secretKey, a.id, c.id, 'announce')).not.toEqual(ab)
    expect(pairKey(a.secretKey, a.id, b.id, 'other')).not.toEqual(ab)
    // Someone with only the two public keys gets nothing like it.
    expect(pairKey(c.secretKey, a.id, b.id, 'announce')).not.toEqual(ab)
  })
})
