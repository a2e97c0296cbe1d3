import { describe, expect, it } from 'vitest'
import { relayBindHost, resolveRelayAddress } from './relay-address.ts'

describe('resolveRelayAddress', () => {
  it('takes an IPv4 public URL host, then a specific listen address, then localhost', async () => {
    expect(await resolveRelayAddress('https://203.0.113.1:8443', '0.0.0.0')).toBe('203.0.113.1')
    expect(await resolveRelayAddress('http://relay.invalid:80', '198.51.100.4')).toBe(
      '198.51.100.4',
    )
    expect(await resolveRelayAddress('http://localhost:8080', '127.0.0.1')).toBe('127.0.0.1')
  })

  it('binds relay sockets where the relay listens, or on any IPv4 address', () => {
    expect(relayBindHost('127.0.0.1')).toBe('127.0.0.1')
    expect(relayBindHost('::')).toBe('0.0.0.0')
    expect(relayBindHost('0.0.0.0')).toBe('0.0.0.0')
  })
})
