/**
 * Two of the bounded buffers of anti-entropy (the third, DeltaQueue, is in
 * delta-queue.ts):
 * - DeltaLog: recent deltas per origin, to answer a digest with exactly the
 *   deltas a peer lacks (the delta-interval idea of Almeida et al.);
 * - HeldDeltas: deltas that arrived before a dot they remove, held until it
 *   comes (causal delivery) or dropped for a full sync.
 * Neither grows past its limit, whoever stops answering.
 */
import type { ReplicaId } from './causal-context.ts'
import type { Delta } from './dot-store.ts'

interface Logged {
  delta: Delta
  bytes: number
  seq: number
}

/**
 * Recent deltas per origin, sorted by counter. Deltas of one origin never overlap (only
 * their origin groups them), so each is kept once, wherever it falls: with causal
 * delivery per key an origin's deltas arrive, and are logged, in any order, and the log
 * may have holes where this replica lacks a delta too.
 */
export class DeltaLog {
  private byOrigin = new Map<ReplicaId, Logged[]>()
  private totalBytes = 0
  private seq = 0

  constructor(private readonly maxPerOrigin: number, private readonly maxBytes: number) {}

  get bytes(): number {
    return this.totalBytes
  }

  add(d: Delta, bytes: number): void {
    let list = this.byOrigin.get(d.origin)
    if (!list) this.byOrigin.set(d.origin, (list = []))
    const i = insertionPoint(list, d.lo)
    const before = list[i - 1]
    const after = list[i]
    if ((before && before.delta.hi >= d.lo) || (after && after.delta.lo <= d.hi)) return // logged already
    list.splice(i, 0, { delta: d, bytes, seq: this.seq++ })
    this.totalBytes += bytes
    // The lowest counters go first: a peer that far behind needs a full state anyway.
    while (list.length > this.maxPerOrigin) this.totalBytes -= (list.shift() as Logged).bytes
    while (this.totalBytes > this.maxBytes) this.evictOldest()
  }

  /** Drops the lowest logged delta of the origin whose lowest was logged longest ago. */
  private evictOldest(): void {
    let victim: ReplicaId | undefined
    let oldest = Infinity
    for (const [r, l] of this.byOrigin) {
      const head = l[0]
      if (head && head.seq < oldest) [victim, oldest] = [r, head.seq]
    }
    const list = victim === undefined ? undefined : this.byOrigin.get(victim)
    if (!list) {
      this.totalBytes = 0
      return
    }
    this.totalBytes -= (list.shift() as Logged).bytes
    if (list.length === 0) this.byOrigin.delete(victim as ReplicaId)
  }

  /** Logged deltas of `origin` with counters above `after`, in counter order, each with its encoded size. */
  since(origin: ReplicaId, after: number): Array<{ delta: Delta; bytes: number }> {
    const list = this.byOrigin.get(origin)
    if (!list) return []
    let i = insertionPoint(list, after + 1)
    const prev = list[i - 1]
    if (prev && prev.delta.hi > after) i--
    return list.slice(i)
  }

  forget(origin: ReplicaId): void {
    for (const l of this.byOrigin.get(origin) ?? []) this.totalBytes -= l.bytes
    this.byOrigin.delete(origin)
  }
}

/** Index of the first logged delta whose lo is at or above `lo` (binary search). */
function insertionPoint(list: Logged[], lo: number): number {
  let a = 0
  let b = list.length
  while (a < b) {
    const m = (a + b) >> 1
    if ((list[m] as Logged).delta.lo < lo) a = m + 1
    else b = m
  }
  return a
}

/** A held delta and the dots it still waits for (a first few; rechecked as they arrive). */
interface Held {
  delta: Delta
  id: string
  needs: Array<[ReplicaId, number]>
}

/**
 * Deltas that wait for dots this replica has not seen: the dots they remove (an owner's
 * earlier write of the same key, a former owner's record). Indexed by those dots, so a
 * join looks only at the deltas its own dots release, not at everything held.
 */
export class HeldDeltas {
  /** In arrival order: the first is the oldest, dropped first when full. */
  private byId = new Map<string, Held>()
  private waiting = new Map<ReplicaId, Map<number, Held[]>>()
  private perOrigin = new Map<ReplicaId, number>()

  constructor(private readonly max: number) {}

  get size(): number {
    return this.byId.size
  }

  /** Holds `d` until the dots `needs` are seen; returns true if something had to be dropped to make room. */
  hold(d: Delta, needs: Array<[ReplicaId, number]>): boolean {
    const id = `${d.origin}\u0000${d.lo}`
    const had = this.byId.get(id)
    if (had) {
      this.wait(had, needs)
      return false
    }
    const h: Held = { delta: d, id, needs: [] }
    this.byId.set(id, h)
    this.perOrigin.set(d.origin, (this.perOrigin.get(d.origin) ?? 0) + 1)
    this.wait(h, needs)
    if (this.byId.size <= this.max) return false
    this.remove(this.byId.values().next().value as Held)
    return true
  }

  /** Re-indexes a held delta under the dots it now waits for. */
  private wait(h: Held, needs: Array<[ReplicaId, number]>): void {
    this.unindex(h)
    h.needs = needs
    for (const [r, n] of needs) {
      let byN = this.waiting.get(r)
      if (!byN) this.waiting.set(r, (byN = new Map()))
      const l = byN.get(n)
      if (l) l.push(h)
      else byN.set(n, [h])
    }
  }

  private unindex(h: Held): void {
    for (const [r, n] of h.needs) {
      const byN = this.waiting.get(r)
      const l = byN?.get(n)
      if (!byN || !l) continue
      const rest = l.filter((x) => x !== h)
      if (rest.length > 0) byN.set(n, rest)
      else {
        byN.delete(n)
        if (byN.size === 0) this.waiting.delete(r)
      }
    }
    h.needs = []
  }

  private remove(h: Held): void {
    this.unindex(h)
    this.byId.delete(h.id)
    const c = (this.perOrigin.get(h.delta.origin) ?? 1) - 1
    if (c > 0) this.perOrigin.set(h.delta.origin, c)
    else this.perOrigin.delete(h.delta.origin)
  }

  /**
   * Dots lo..hi of `r` were joined: the held deltas that waited for one of them are
   * checked with `missing` (what they still lack), and those that lack nothing are
   * removed and returned; the others wait on for what they still lack.
   */
  arrived(r: ReplicaId, lo: number, hi: number, missing: (d: Delta) => Array<[ReplicaId, number]>): Delta[] {
    const byN = this.waiting.get(r)
    if (!byN) return []
    const woken = new Set<Held>()
    if (hi - lo + 1 <= byN.size) {
      for (let n = lo; n <= hi; n++) for (const h of byN.get(n) ?? []) woken.add(h)
    } else for (const [n, l] of byN) if (n >= lo && n <= hi) for (const h of l) woken.add(h)
    return this.settle(woken, missing)
  }

  /** Rechecks every held delta (after a full state or a fold made many dots seen at once). */
  takeReady(missing: (d: Delta) => Array<[ReplicaId, number]>): Delta[] {
    return this.settle(new Set(this.byId.values()), missing)
  }

  private settle(hs: Set<Held>, missing: (d: Delta) => Array<[ReplicaId, number]>): Delta[] {
    const out: Delta[] = []
    for (const h of hs) {
      const still = missing(h.delta)
      if (still.length === 0) {
        this.remove(h)
        out.push(h.delta)
      } else this.wait(h, still)
    }
    return out
  }

  /** Every held delta (to tell a peer which dots we already have, though not yet joined). */
  *deltas(): IterableIterator<Delta> {
    for (const h of this.byId.values()) yield h.delta
  }

  /** True while a held delta came from `r` or waits for a dot of `r`. */
  holds(r: ReplicaId): boolean {
    return this.perOrigin.has(r) || this.waiting.has(r)
  }

  /** Replicas whose dots held deltas wait for: a gap is best asked of them. */
  awaited(): IterableIterator<ReplicaId> {
    return this.waiting.keys()
  }

  /** Drops the held deltas of `origin` (it was folded away). */
  forget(origin: ReplicaId): void {
    for (const h of [...this.byId.values()]) if (h.delta.origin === origin) this.remove(h)
  }
}
