import { expect, test } from 'bun:test'
import { biasedWeight, fmix32, weight } from '../../src/ownership/keys.ts'
import { forSeeds } from './helpers.ts'

test('biasedWeight is weight XOR 2^31 as int32, so signed order equals weight order', () => {
  forSeeds(5, (rng) => {
    for (let i = 0; i < 2000; i++) {
      const [salt, lo, hi] = [rng.int(2 ** 32), rng.int(2 ** 32), rng.int(2 ** 32)]
      const w = weight(salt, lo, hi)
      const b = biasedWeight(salt, lo | 0, hi | 0)
      expect(b).toBe((w ^ 0x80000000) | 0)
      const w2 = weight(salt, hi, lo)
      expect(Math.sign(b - biasedWeight(salt, hi | 0, lo | 0))).toBe(Math.sign(w - w2))
    }
  })
})

test('fmix32 known values (MurmurHash3 finaliser)', () => {
  expect(fmix32(0)).toBe(0)
  expect(fmix32(1)).toBe(0x514e28b7)
})
