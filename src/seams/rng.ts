/**
 * Rng seam (docs/ARCHITECTURE.md "Seams"): a small, fast, seeded generator (xoshiro128**,
 * Blackman & Vigna) with `fork(label)`, so each node and subsystem draws from its
 * own reproducible stream. Cores take an Rng instead of calling Math.random.
 */

export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number
  /** Uniform integer in [0, n). n must be ≥ 1. */
  int(n: number): number
  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(xs: T[]): T[]
  /** An independent stream derived from this one's seed and `label`; deterministic. */
  fork(label: string): Rng
}

/** 32-bit FNV-1a: turns labels into seed material without pulling in a hash library. */
function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/** splitmix32: expands one 32-bit seed into well-mixed state words. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0

export class SeededRng implements Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(readonly seed: number | string) {
    const sm = splitmix32(typeof seed === 'string' ? fnv1a(seed) : seed >>> 0)
    this.a = sm()
    this.b = sm()
    this.c = sm()
    this.d = sm()
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1
  }

  private u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0
    const t = (this.b << 9) >>> 0
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return r
  }

  next(): number {
    return this.u32() / 0x100000000
  }

  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = xs[i] as T
      xs[i] = xs[j] as T
      xs[j] = t
    }
    return xs
  }

  fork(label: string): Rng {
    return new SeededRng(fnv1a(label, fnv1a(String(this.seed))))
  }
}
