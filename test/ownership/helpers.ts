/** Shared helpers for the ownership tests: seeded member sets and target ids, seed reporting. */
import { SeededRng } from '../../src/seams/rng.ts'
import type { Rng } from '../../src/seams/rng.ts'

/** Base seed: SIM_SEED from the environment, else a fixed default so CI is reproducible. */
export const BASE_SEED = Number(process.env.SIM_SEED ?? 20261123)

/** Runs fn for `count` seeds from BASE_SEED; a failure names the seed that reproduces it. */
export function forSeeds(count: number, fn: (rng: Rng, seed: number) => void): void {
  for (let i = 0; i < count; i++) {
    const seed = BASE_SEED + i
    try {
      fn(new SeededRng(seed), seed)
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e)
      throw new Error(`failed with SIM_SEED=${seed}: ${msg}`)
    }
  }
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-._'

/** n distinct, varied member names: host-like, short, long, and the odd non-ASCII one. */
export function memberNames(rng: Rng, n: number): string[] {
  const out = new Set<string>()
  while (out.size < n) {
    const kind = rng.int(4)
    if (kind === 0) out.add(`node-${rng.int(100_000)}`)
    else if (kind === 1) out.add(`10.0.${rng.int(256)}.${rng.int(256)}:7946`)
    else if (kind === 2) out.add(`h${rng.int(1000)}-é${rng.int(50)}`)
    else {
      let s = ''
      const len = 1 + rng.int(24)
      for (let i = 0; i < len; i++) s += ALPHABET[rng.int(ALPHABET.length)]
      out.add(s)
    }
  }
  return [...out]
}

/** `count` distinct target ids with a per-seed prefix, so seeds see different ids. */
export function targetIds(rng: Rng, count: number): string[] {
  const prefix = `svc${rng.int(1_000_000)}`
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`)
}
