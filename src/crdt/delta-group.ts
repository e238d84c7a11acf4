/**
 * Delta groups (Almeida, Shoker & Baquero 2018, §4: "the join of deltas is a delta",
 * used there to ship several mutations as one delta-group). Consecutive local deltas
 * of one replica (counters lo..hi, then hi+1..) join into one delta covering both
 * ranges, so a burst of writes (a takeover's term bumps, a start-up's first verdicts)
 * travels as a few packet-sized deltas instead of thousands of one-key ones, each of
 * which costs a queue slot, a log slot and a causal-delivery step at every peer.
 */
import type { Delta, Entry } from './dot-store.ts'
import { joinInto } from './dot-store.ts'

/** A copy that later grouping may modify without touching the original. */
export function ownDelta(d: Delta): Delta {
  return { origin: d.origin, lo: d.lo, hi: d.hi, ctx: d.ctx.clone(), store: new Map([...d.store].map(([k, es]) => [k, es.slice()])) }
}

/**
 * `a` followed by `b` (b.lo === a.hi + 1, same origin) as one delta. `a` is consumed
 * (modified and returned). A key a delta lists with no entries (its entries were
 * removed) stays listed, so receivers still visit it.
 */
export function groupDeltas(a: Delta, b: Delta): Delta {
  if (a.origin !== b.origin || b.lo !== a.hi + 1) throw new Error(`cannot group ${a.origin}:${a.lo}-${a.hi} with ${b.origin}:${b.lo}-${b.hi}`)
  const listed = new Set([...a.store.keys(), ...b.store.keys()])
  joinInto(a, b, false)
  const none: Entry[] = []
  for (const k of listed) if (!a.store.has(k)) a.store.set(k, none.slice())
  a.hi = b.hi
  return a
}
