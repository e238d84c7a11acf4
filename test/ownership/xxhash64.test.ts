import { describe, expect, test } from 'bun:test'
import xxhash from 'xxhash-wasm'
import { xxhash64 } from '../../src/seams/hash.ts'
import { forSeeds } from './helpers.ts'

// Public XXH64 test values (seed 0), e.g. from the xxHash reference and its ports.
const KNOWN: [string, bigint][] = [
  ['', 0xef46db3751d8e999n],
  ['a', 0xd24ec4f1a98c6e5bn],
  ['abc', 0x44bc2cf5ad770999n],
]

describe('xxhash64 (src/seams/hash.ts, Bun.hash.xxHash64)', () => {
  test.each(KNOWN)('XXH64(%p) matches the published value', (input, want) => {
    expect(xxhash64(input)).toBe(want)
  })

  test('agrees with xxhash-wasm on random strings, lengths 0..300, ASCII and non-ASCII, several seeds', async () => {
    const { h64 } = await xxhash()
    for (const [input, want] of KNOWN) expect(h64(input)).toBe(want)
    forSeeds(5, (rng) => {
      for (let i = 0; i < 400; i++) {
        const len = rng.int(300)
        let s = ''
        for (let c = 0; c < len; c++) {
          const r = rng.next()
          // Mostly ASCII, some 2- and 3-byte UTF-8, some astral (surrogate pairs).
          s += r < 0.8 ? String.fromCharCode(32 + rng.int(95)) : r < 0.9 ? 'é' : r < 0.97 ? '日' : '🙂'
        }
        const seed = BigInt(rng.int(2 ** 30)) * BigInt(rng.int(2 ** 30))
        expect(xxhash64(s)).toBe(h64(s))
        expect(xxhash64(s, seed)).toBe(h64(s, seed))
      }
    })
  })
})
