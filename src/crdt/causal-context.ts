/**
 * Dots and causal contexts (version vectors with exceptions), after Almeida,
 * Shoker & Baquero, "Delta State Replicated Data Types" (2018), §5: a dot is one
 * event (replica, counter); a causal context is the set of dots a replica has
 * seen. It is kept exact — a contiguous prefix 1..max per replica plus the few
 * dots seen beyond it — never rounded up to a plain version vector, because
 * rounding up is how a partial sync comes to delete live keys (Riak/DeltaCrdt).
 *
 * Replicas folded away after they died (see pruning.ts) keep a local marker so
 * their old dots still count as seen; markers are local, never on the wire.
 */

export type ReplicaId = string

/** One event: the n-th (1-based) dot minted by replica r. */
export interface Dot {
  r: ReplicaId
  n: number
}

/** How two contexts relate, seen as sets of dots. */
export type Order = 'equal' | 'before' | 'after' | 'concurrent'

/** Wire form per replica: [replica, contiguous max, ...exception ranges as lo,hi pairs]. */
export type EncodedContext = Array<[ReplicaId, number, number[]]>

export class CausalContext {
  private max = new Map<ReplicaId, number>()
  // Dots seen beyond the contiguous prefix; causal delivery keeps these rare.
  private cloud = new Map<ReplicaId, Set<number>>()
  // Local fold markers: every dot of r at or below the value counts as seen.
  private folded = new Map<ReplicaId, number>()
  // Wall time (ms) each fold was first made anywhere; markers travel with it and expire by it.
  private foldedAt = new Map<ReplicaId, number>()

  has(r: ReplicaId, n: number): boolean {
    if (n <= (this.max.get(r) ?? 0)) return true
    if (n <= (this.folded.get(r) ?? 0)) return true
    return this.cloud.get(r)?.has(n) ?? false
  }

  /** Highest contiguous counter seen from r (0 if none). */
  contiguous(r: ReplicaId): number {
    return Math.max(this.max.get(r) ?? 0, this.folded.get(r) ?? 0)
  }

  /** Highest counter seen from r at all, contiguous or not. */
  top(r: ReplicaId): number {
    let t = this.contiguous(r)
    for (const n of this.cloud.get(r) ?? []) if (n > t) t = n
    return t
  }

  add(r: ReplicaId, n: number): void {
    if (this.has(r, n)) return
    const m = this.max.get(r) ?? 0
    if (n === m + 1) {
      this.max.set(r, n)
      this.compact(r)
    } else {
      let s = this.cloud.get(r)
      if (!s) this.cloud.set(r, (s = new Set()))
      s.add(n)
    }
  }

  /** Adds the contiguous range lo..hi (inclusive). */
  addRange(r: ReplicaId, lo: number, hi: number): void {
    const m = this.max.get(r) ?? 0
    if (lo <= m + 1 && hi > m) {
      this.max.set(r, hi)
      this.compact(r)
      return
    }
    for (let n = lo; n <= hi; n++) this.add(r, n)
  }

  private compact(r: ReplicaId): void {
    const s = this.cloud.get(r)
    let m = this.max.get(r) ?? 0
    if (!s) return
    while (s.has(m + 1)) {
      s.delete(m + 1)
      m++
    }
    for (const n of s) if (n <= m) s.delete(n)
    this.max.set(r, m)
    if (s.size === 0) this.cloud.delete(r)
  }

  join(o: CausalContext): void {
    for (const [r, m] of o.max) {
      if (m <= (this.folded.get(r) ?? 0)) continue
      this.addRange(r, 1, m)
    }
    for (const [r, s] of o.cloud) for (const n of s) if (n > (this.folded.get(r) ?? 0)) this.add(r, n)
  }

  replicas(): ReplicaId[] {
    const out = new Set<ReplicaId>([...this.max.keys(), ...this.cloud.keys()])
    return [...out].sort()
  }

  /** Replicas with dots seen beyond a hole: some earlier dot of theirs has not arrived. */
  holes(): IterableIterator<ReplicaId> {
    return this.cloud.keys()
  }

  /** Dots known missing: below some replica's highest seen dot and not seen. */
  missingCount(): number {
    let c = 0
    for (const [r, s] of this.cloud) c += this.top(r) - this.contiguous(r) - s.size
    return c
  }

  /** Number of dots held as exceptions (outside the contiguous prefixes). */
  exceptionCount(): number {
    let c = 0
    for (const s of this.cloud.values()) c += s.size
    return c
  }

  /** True when every dot in this context is also in `o`. */
  leq(o: CausalContext): boolean {
    for (const [r, m] of this.max) {
      const om = o.contiguous(r)
      if (m <= om) continue
      for (let n = om + 1; n <= m; n++) if (!o.has(r, n)) return false
    }
    for (const [r, s] of this.cloud) for (const n of s) if (!o.has(r, n)) return false
    return true
  }

  compare(o: CausalContext): Order {
    const a = this.leq(o)
    const b = o.leq(this)
    if (a && b) return 'equal'
    if (a) return 'before'
    if (b) return 'after'
    return 'concurrent'
  }

  /** Drops a replica's entry and remembers, locally, that its dots up to `upTo` were seen. */
  fold(r: ReplicaId, upTo: number, atMs: number): void {
    this.max.delete(r)
    this.cloud.delete(r)
    this.folded.set(r, Math.max(upTo, this.folded.get(r) ?? 0))
    this.foldedAt.set(r, Math.min(atMs, this.foldedAt.get(r) ?? atMs))
  }

  foldedTime(r: ReplicaId): number {
    return this.foldedAt.get(r) ?? 0
  }

  /** Fold markers as [replica, up to, folded at (wall ms)]. */
  foldMarkers(): Array<[ReplicaId, number, number]> {
    return [...this.folded].map(([r, m]) => [r, m, this.foldedAt.get(r) ?? 0])
  }

  foldedReplicas(): Map<ReplicaId, number> {
    return this.folded
  }

  /** Forgets a fold marker (after its TTL): the replica's old dots no longer count as seen. */
  unfold(r: ReplicaId): void {
    this.folded.delete(r)
    this.foldedAt.delete(r)
  }

  /** Turns a fold marker back into an ordinary entry (the replica's dots turned up again). */
  revive(r: ReplicaId): void {
    const m = this.folded.get(r)
    if (m === undefined) return
    this.unfold(r)
    this.addRange(r, 1, m)
  }

  clone(): CausalContext {
    const c = new CausalContext()
    c.max = new Map(this.max)
    for (const [r, s] of this.cloud) c.cloud.set(r, new Set(s))
    c.folded = new Map(this.folded)
    c.foldedAt = new Map(this.foldedAt)
    return c
  }

  encode(): EncodedContext {
    return this.replicas().map((r) => [r, this.max.get(r) ?? 0, toRanges(this.cloud.get(r))])
  }

  /** Total size in dots, counting a contiguous prefix as one (for limits and metrics). */
  get entries(): number {
    return this.replicas().length
  }

  static decode(e: EncodedContext): CausalContext {
    const c = new CausalContext()
    for (const [r, m, ex] of e) {
      if (m > 0) c.addRange(r, 1, m)
      for (let i = 0; i + 1 < ex.length; i += 2) c.addRange(r, ex[i] as number, ex[i + 1] as number)
    }
    return c
  }
}

/** Sorted exception dots as flattened [lo, hi] ranges: gaps are few, runs are common. */
function toRanges(s: Set<number> | undefined): number[] {
  if (!s || s.size === 0) return []
  const xs = [...s].sort((a, b) => a - b)
  const out: number[] = []
  let lo = xs[0] as number
  let hi = lo
  for (let i = 1; i < xs.length; i++) {
    const n = xs[i] as number
    if (n === hi + 1) hi = n
    else {
      out.push(lo, hi)
      lo = hi = n
    }
  }
  out.push(lo, hi)
  return out
}

/** Structural check for a decoded wire context, with limits; returns an error string or null. */
export function validateEncodedContext(e: unknown, maxReplicas: number, maxRanges: number, maxCounter: number): string | null {
  if (!Array.isArray(e)) return 'context is not an array'
  if (e.length > maxReplicas) return 'context has too many replicas'
  const seen = new Set<string>()
  for (const row of e) {
    if (!Array.isArray(row) || row.length !== 3) return 'context row malformed'
    const [r, m, ex] = row as unknown[]
    if (typeof r !== 'string' || r.length === 0 || r.length > 256) return 'bad replica id'
    if (seen.has(r)) return 'duplicate replica in context'
    seen.add(r)
    if (!isCounter(m, maxCounter, true)) return 'bad contiguous counter'
    if (!Array.isArray(ex) || ex.length % 2 !== 0 || ex.length / 2 > maxRanges) return 'bad exception ranges'
    let prev = m as number
    for (let i = 0; i < ex.length; i += 2) {
      const lo = ex[i]
      const hi = ex[i + 1]
      if (!isCounter(lo, maxCounter) || !isCounter(hi, maxCounter)) return 'bad exception counter'
      if ((lo as number) <= prev + 1 || (hi as number) < (lo as number)) return 'exception ranges not sorted and disjoint'
      prev = hi as number
    }
  }
  return null
}

export function isCounter(x: unknown, maxCounter: number, allowZero = false): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= (allowZero ? 0 : 1) && x <= maxCounter
}
