import { describe, expect, it } from 'vitest'
import { BandwidthMeter } from './bandwidth.ts'

describe('BandwidthMeter', () => {
  it('averages bytes over the closed seconds of its window', () => {
    const meter = new BandwidthMeter(4)
    expect(meter.bytesPerSecond).toBe(0)
    meter.add(1000)
    expect(meter.bytesPerSecond).toBe(0)
    meter.tick()
    expect(meter.bytesPerSecond).toBe(1000)
    meter.add(500)
    meter.add(500)
    meter.tick()
    meter.tick()
    expect(meter.bytesPerSecond).toBe(Math.round(2000 / 3))
  })

  it('forgets seconds older than the window', () => {
    const meter = new BandwidthMeter(3)
    meter.add(9000)
    meter.tick()
    for (let i = 0; i < 3; i++) {
      meter.add(30)
      meter.tick()
    }
    expect(meter.bytesPerSecond).toBe(30)
    for (let i = 0; i < 3; i++) meter.tick()
    expect(meter.bytesPerSecond).toBe(0)
  })

  it('refuses a window that is not a positive whole number of seconds', () => {
    expect(() => new BandwidthMeter(0)).toThrow(RangeError)
    expect(() => new BandwidthMeter(1.5)).toThrow(RangeError)
  })
})
