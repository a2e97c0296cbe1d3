import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytesToHex, identityFromSecret } from '../../shared/identity.ts'
import { IdentityFileError, identityFileText, parseIdentityFile } from './identity-file.ts'

const seed = (byte: number) => new Uint8Array(32).fill(byte)

describe('identity files', () => {
  it('round-trip any key (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (secret) => {
        const identity = identityFromSecret(secret)
        const back = parseIdentityFile(identityFileText(identity))
        expect(back.id).toBe(identity.id)
        expect(bytesToHex(back.secretKey)).toBe(bytesToHex(secret))
      }),
    )
  })

  it('hold the format, the id and the secret as hex', () => {
    const identity = identityFromSecret(seed(7))
    expect(JSON.parse(identityFileText(identity))).toEqual({
      format: 'monsoon-identity',
      version: 1,
      id: identity.id,
      secretKey: '07'.repeat(32),
    })
  })

  it('refuse what is not one, saying why', () => {
    const good = JSON.parse(identityFileText(identityFromSecret(seed(1))))
    const cases: [string, RegExp][] = [
      ['not json', /not JSON/],
      ['null', /not a Monsoon identity/],
      [JSON.stringify({ ...good, format: 'other' }), /not a Monsoon identity/],
      [JSON.stringify({ ...good, version: 2 }), /not a Monsoon identity/],
      [JSON.stringify({ ...good, secretKey: 'ab' }), /not 32 bytes/],
      [JSON.stringify({ ...good, secretKey: 'zz'.repeat(32) }), /not 32 bytes/],
      [JSON.stringify({ ...good, id: identityFromSecret(seed(2)).id }), /does not match/],
      [JSON.stringify({ ...good, id: undefined }), /does not match/],
      [' '.repeat(5000), /too large/],
    ]
    for (const [text, message] of cases) {
      expect(() => parseIdentityFile(text), text.slice(0, 40)).toThrow(IdentityFileError)
      expect(() => parseIdentityFile(text)).toThrow(message)
    }
  })
})
