/**
 * Hash seam: the one place the cores get xxHash64 from (XXH64, Yann Collet).
 * Bun's built-in Bun.hash.xxHash64 gives the same values as xxhash-wasm on
 * UTF-8 strings and is about twice as fast here (bench/ownership.ts, docs/BENCHMARKS.md),
 * and it needs no async WebAssembly start-up, so the wrapper uses it.
 */

/** XXH64 of the UTF-8 bytes of `s`; `seed` is the 64-bit XXH64 seed (default 0). */
export function xxhash64(s: string, seed = 0n): bigint {
  return Bun.hash.xxHash64(s, seed)
}
