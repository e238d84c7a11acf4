import { describe, expect, test } from 'bun:test'
import { jumpHash, jumpHashBig } from '../../src/ownership/jump-hash.ts'
import { forSeeds } from './helpers.ts'

/**
 * The paper's algorithm, written again here independently with BigInt (slow, but
 * obviously 64-bit), as the oracle for the 32-bit-halves version in src/.
 */
function referenceJump(key: bigint, buckets: number): number {
  let k = BigInt.asUintN(64, key)
  let b = -1
  let j = 0
  while (j < buckets) {
    b = j
    k = BigInt.asUintN(64, k * 2862933555777941757n + 1n)
    j = Math.floor((b + 1) * (2 ** 31 / Number((k >> 33n) + 1n)))
  }
  return b
}

// Published outputs of the reference C++ (as used by ClickHouse's jumpConsistentHash tests
// and the Rust/Go ports): [key, buckets, bucket].
const PUBLISHED: [bigint, number, number][] = [
  [1n, 1, 0],
  [42n, 57, 43],
  [256n, 1024, 520],
  [3735883980n, 1, 0],
  [3735883980n, 666, 361],
  [16045690984833335023n, 255, 237],
]

describe('jump consistent hash (Lamping & Veach 2014)', () => {
  test.each(PUBLISHED)('jump(%p, %p) = %p, as published', (key, buckets, want) => {
    expect(referenceJump(key, buckets)).toBe(want)
    expect(jumpHashBig(key, buckets)).toBe(want)
  })

  test('a table computed by the independent BigInt reference matches, including edge keys', () => {
    const keys = [0n, 1n, 0xffffffffn, 0x100000000n, 0xffffffffffffffffn, 0x8000000000000000n, 0xfffffffffffffffen]
    const bucketCounts = [1, 2, 3, 10, 255, 1000, 65_536, 262_144, 2 ** 31 - 1]
    for (const k of keys) for (const n of bucketCounts) expect([k, n, jumpHashBig(k, n)]).toEqual([k, n, referenceJump(k, n)])
  })

  test('matches the reference on random 64-bit keys and bucket counts over many seeds', () => {
    forSeeds(10, (rng) => {
      for (let i = 0; i < 500; i++) {
        const lo = rng.int(2 ** 32)
        const hi = rng.int(2 ** 32)
        const n = 1 + rng.int(rng.next() < 0.5 ? 100 : 2 ** 24)
        const key = (BigInt(hi) << 32n) | BigInt(lo)
        expect(jumpHash(lo, hi, n)).toBe(referenceJump(key, n))
      }
    })
  })

  test('growing n → n+1 buckets moves keys only into the new bucket, about 1/(n+1) of them', () => {
    forSeeds(5, (rng) => {
      const n = 2 + rng.int(50)
      let moved = 0
      const total = 20_000
      for (let i = 0; i < total; i++) {
        const lo = rng.int(2 ** 32)
        const hi = rng.int(2 ** 32)
        const a = jumpHash(lo, hi, n)
        const b = jumpHash(lo, hi, n + 1)
        if (a !== b) {
          expect(b).toBe(n)
          moved++
        }
      }
      const p = 1 / (n + 1)
      expect(Math.abs(moved / total - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / total))
    })
  })
})
