/**
 * Jump consistent hash (Lamping & Veach, "A Fast, Minimal Memory, Consistent
 * Hash Algorithm", 2014). Maps a 64-bit key to a bucket in [0, buckets): uniform,
 * no memory, and growing buckets from n to n+1 moves only 1/(n+1) of the keys.
 *
 * JavaScript has no 64-bit integers outside BigInt (too slow in this hot path), so
 * the key is carried as two unsigned 32-bit halves and the linear congruential step
 * key = key * 2862933555777941757 + 1 (mod 2^64) is done with 16-bit partial products.
 * The division step uses doubles exactly as the paper's C++ does, so the results
 * are bit-for-bit the reference algorithm's (test/ownership/jump-hash.test.ts).
 */

const M_LO = 0x87b0b0fd // low 32 bits of 2862933555777941757
const M_HI = 0x27bb2ee6 // high 32 bits
const M_LO_0 = M_LO & 0xffff
const M_LO_1 = M_LO >>> 16

/** Jump hash of the 64-bit key (keyHi·2^32 + keyLo) into [0, buckets); buckets in [1, 2^31). */
export function jumpHash(keyLo: number, keyHi: number, buckets: number): number {
  let lo = keyLo >>> 0
  let hi = keyHi >>> 0
  let b = -1
  let j = 0
  while (j < buckets) {
    b = j
    // High 32 bits of lo * M_LO, from 16-bit pieces so every partial product is exact.
    const a0 = lo & 0xffff
    const a1 = lo >>> 16
    const p00 = a0 * M_LO_0
    const p10 = a1 * M_LO_0
    const p01 = a0 * M_LO_1
    const mid = (p00 >>> 16) + (p10 & 0xffff) + (p01 & 0xffff)
    const carry = a1 * M_LO_1 + (p10 >>> 16) + (p01 >>> 16) + (mid >>> 16)
    const newHi = (carry + Math.imul(hi, M_LO) + Math.imul(lo, M_HI)) >>> 0
    const newLo = (Math.imul(lo, M_LO) + 1) >>> 0
    // The +1 carries into the high half only when the low half wrapped to 0.
    hi = newLo === 0 ? (newHi + 1) >>> 0 : newHi
    lo = newLo
    // (key >> 33) is the top 31 bits, i.e. hi >>> 1.
    j = Math.floor((b + 1) * (2147483648 / ((hi >>> 1) + 1)))
  }
  return b
}

/** Convenience form taking the key as a BigInt (tests, tools); same result as jumpHash. */
export function jumpHashBig(key: bigint, buckets: number): number {
  const k = BigInt.asUintN(64, key)
  return jumpHash(Number(k & 0xffffffffn), Number(k >> 32n), buckets)
}
