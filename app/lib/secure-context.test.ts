import { describe, expect, it } from 'vitest'
import { insecureNotice } from './secure-context.ts'

describe('insecureNotice', () => {
  it('says nothing in a secure context (HTTPS, or loopback over HTTP)', () => {
    expect(insecureNotice({ isSecureContext: true, host: 'relay.example' })).toBeNull()
    expect(insecureNotice({ isSecureContext: true, host: '127.0.0.1:8000' })).toBeNull()
    // A browser without the flag predates secure contexts: nothing to say.
    expect(insecureNotice({ isSecureContext: undefined, host: 'x' })).toBeNull()
  })

  it('tells a page over plain HTTP from another address why, and what the operator does', () => {
    const notice = insecureNotice({ isSecureContext: false, host: '192.168.1.20:8000' })
    expect(notice?.host).toBe('192.168.1.20:8000')
    expect(notice?.summary).toMatch(/must be reached over HTTPS/)
    expect(notice?.summary).toMatch(/hashes and checks files/)
    expect(notice?.fix).toMatch(/--acme-domain/)
    expect(notice?.fix).toMatch(/--tls-cert/)
  })
})
