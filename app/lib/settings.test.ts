import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_SETTINGS,
  MAX_CONNS,
  MAX_RATE_KIB,
  MAX_USER_RELAYS,
  STORAGE_KEY,
  SettingsError,
  loadSettings,
  parseMaxConns,
  parseRate,
  parseRelayUrl,
  parseStoredSettings,
  rateText,
  saveSettings,
  type Settings,
} from './settings.ts'

/** localStorage's two methods over a Map, with a switch to refuse writes as a full one does. */
function memoryStorage(full = false) {
  const items = new Map<string, string>()
  return {
    items,
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => {
      if (full) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
      items.set(k, v)
    },
  }
}

describe('parseRate', () => {
  it('reads KiB/s as bytes/s; empty is no limit', () => {
    expect(parseRate('')).toBeNull()
    expect(parseRate('  ')).toBeNull()
    expect(parseRate('1')).toBe(1024)
    expect(parseRate(' 2048 ')).toBe(2048 * 1024)
    expect(parseRate(String(MAX_RATE_KIB))).toBe(MAX_RATE_KIB * 1024)
  })

  it('refuses anything but a whole number in range, with a message', () => {
    for (const bad of [
      '0',
      '-5',
      '1.5',
      '1e3',
      'fast',
      '0x10',
      String(MAX_RATE_KIB + 1),
      '9'.repeat(30),
    ]) {
      expect(() => parseRate(bad), bad).toThrow(SettingsError)
    }
    expect(() => parseRate('fast')).toThrow('Enter a whole number of KiB/s')
  })
})

describe('parseMaxConns', () => {
  it(`takes 1 to ${MAX_CONNS}`, () => {
    expect(parseMaxConns('1')).toBe(1)
    expect(parseMaxConns(` ${MAX_CONNS}`)).toBe(MAX_CONNS)
    for (const bad of ['0', '', '501', '2.5', 'many', '-1']) {
      expect(() => parseMaxConns(bad), bad).toThrow(SettingsError)
    }
  })
})

describe('parseRelayUrl', () => {
  it('gives the origin of a relay address or tracker URL', () => {
    expect(parseRelayUrl('https://relay.example')).toBe('https://relay.example')
    expect(parseRelayUrl(' https://Relay.Example:8443/ ')).toBe('https://relay.example:8443')
    expect(parseRelayUrl('wss://relay.example/')).toBe('https://relay.example')
    expect(parseRelayUrl('ws://127.0.0.1:8080')).toBe('http://127.0.0.1:8080')
    expect(parseRelayUrl('http://relay.example/announce')).toBe('http://relay.example')
  })

  it('refuses what is not a relay address, saying why', () => {
    const cases: [string, RegExp][] = [
      ['', /Enter the relay/],
      ['relay.example', /Start the address with https/],
      ['ftp://relay.example', /over https/],
      ['javascript://alert(1)', /over https/],
      ['https://relay.example/x', /without a path/],
      ['https://user:pw@relay.example', /alone/],
      ['https://relay.example/?q=1', /alone/],
      ['https://relay.example/#x', /alone/],
      ['https://[nope', /not a valid address/],
    ]
    for (const [text, message] of cases) expect(() => parseRelayUrl(text), text).toThrow(message)
  })

  it('refuses a duplicate and a full list', () => {
    expect(() => parseRelayUrl('https://a.example/', ['https://a.example'])).toThrow(
      'already in the list',
    )
    const full = Array.from({ length: MAX_USER_RELAYS }, (_, i) => `https://r${i}.example`)
    expect(() => parseRelayUrl('https://new.example', full)).toThrow(/At most/)
  })
})

describe('stored settings', () => {
  it('round-trips through storage', () => {
    const storage = memoryStorage()
    expect(loadSettings(storage)).toEqual(DEFAULT_SETTINGS)
    const s: Settings = {
      downloadLimit: 1024 * 100,
      uploadLimit: null,
      maxConns: 20,
      relays: ['https://a.example', 'http://127.0.0.1:9000'],
    }
    saveSettings(storage, s)
    expect(JSON.parse(storage.items.get(STORAGE_KEY)!)).toEqual(s)
    expect(loadSettings(storage)).toEqual(s)
  })

  it('round-trips any valid settings (property)', () => {
    const rate = fc.option(fc.integer({ min: 1, max: MAX_RATE_KIB }).map((k) => k * 1024))
    // Relays as settings keep them: origins (a default port is not spelled: port 80 is
    // "http://127.0.0.1", see the next test).
    const relay = fc
      .integer({ min: 1, max: 65535 })
      .map((p) => new URL(`http://127.0.0.1:${p}`).origin)
    fc.assert(
      fc.property(
        rate,
        rate,
        fc.integer({ min: 1, max: MAX_CONNS }),
        fc.uniqueArray(relay, { maxLength: MAX_USER_RELAYS }),
        (downloadLimit, uploadLimit, maxConns, relays) => {
          const storage = memoryStorage()
          const s = { downloadLimit, uploadLimit, maxConns, relays }
          saveSettings(storage, s)
          expect(loadSettings(storage)).toEqual(s)
        },
      ),
    )
  })

  it('reads a relay saved with its default port as its origin', () => {
    const storage = memoryStorage()
    const s = {
      downloadLimit: null,
      uploadLimit: null,
      maxConns: 1,
      relays: ['http://127.0.0.1:80'],
    }
    saveSettings(storage, s)
    expect(loadSettings(storage).relays).toEqual(['http://127.0.0.1'])
  })

  it('falls back field by field on a damaged or hostile copy', () => {
    expect(parseStoredSettings(null)).toEqual(DEFAULT_SETTINGS)
    expect(parseStoredSettings('nope')).toEqual(DEFAULT_SETTINGS)
    expect(
      parseStoredSettings({
        downloadLimit: -1,
        uploadLimit: 2048,
        maxConns: 1e9,
        relays: ['javascript:alert(1)', 'https://ok.example', 'https://ok.example/', 42],
        extra: 'dropped',
      }),
    ).toEqual({
      downloadLimit: null,
      uploadLimit: 2048,
      maxConns: 55,
      relays: ['https://ok.example'],
    })
    expect(
      parseStoredSettings({ relays: Array.from({ length: 50 }, (_, i) => `https://r${i}.x`) })
        .relays,
    ).toHaveLength(MAX_USER_RELAYS)
    const storage = memoryStorage()
    storage.items.set(STORAGE_KEY, '{not json')
    expect(loadSettings(storage)).toEqual(DEFAULT_SETTINGS)
    expect(loadSettings(null)).toEqual(DEFAULT_SETTINGS)
  })

  it('says so when the browser will not save them', () => {
    expect(() => saveSettings(memoryStorage(true), DEFAULT_SETTINGS)).toThrow(
      /did not save the settings: The quota has been exceeded/,
    )
    expect(() => saveSettings(null, DEFAULT_SETTINGS)).toThrow(SettingsError)
  })

  it('shows rates as typed', () => {
    expect(rateText(null)).toBe('')
    expect(rateText(2048 * 1024)).toBe('2048')
  })
})
