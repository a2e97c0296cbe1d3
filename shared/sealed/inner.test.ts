import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SealedError } from './envelope.ts'
import {
  decodeInnerRequest,
  decodeInnerResponse,
  encodeInnerRequest,
  encodeInnerResponse,
  innerResponseParts,
} from './inner.ts'

const text = (s: string) => new TextEncoder().encode(s)
const raw = (head: object, body = '') => text(`${JSON.stringify(head)}\n${body}`)

describe('inner requests and responses', () => {
  it('round-trip with and without a content coding', () => {
    const coding = fc.constantFrom(undefined, 'gzip' as const)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), coding, coding, (body, accept, encoding) => {
        const req = { method: 'GET' as const, path: '/v1/listings?after=1', body }
        const back = decodeInnerRequest(encodeInnerRequest({ ...req, acceptEncoding: accept }))
        expect(back).toEqual({ ...req, contentType: undefined, acceptEncoding: accept })
        const res = { status: 200, body, contentEncoding: encoding }
        expect(decodeInnerResponse(encodeInnerResponse(res))).toEqual({
          ...res,
          contentType: undefined,
          retryAfter: undefined,
        })
      }),
    )
  })

  it('gives a response as its head line and body, which join to encodeInnerResponse', () => {
    const res = { status: 503, contentType: 'application/json', retryAfter: '2', body: text('{}') }
    const [head, body] = innerResponseParts(res)
    expect(body).toBe(res.body)
    expect(new TextDecoder().decode(head)).toBe('{"s":503,"t":"application/json","r":"2"}\n')
    expect(new Uint8Array([...head, ...body])).toEqual(encodeInnerResponse(res))
  })

  it('answers in clear a request that takes a coding it does not know', () => {
    for (const e of ['br', 'GZIP', 1, null, ['gzip']]) {
      expect(decodeInnerRequest(raw({ m: 'GET', p: '/v1/x', e })).acceptEncoding).toBeUndefined()
    }
  })

  it('refuses a response in a coding it did not ask for', () => {
    for (const e of ['br', 'deflate', '', 0, null]) {
      expect(() => decodeInnerResponse(raw({ s: 200, e }, 'x'))).toThrow(SealedError)
    }
  })
})
