/**
 * The three bounded buffers of anti-entropy:
 * - BroadcastQueue: encoded deltas waiting to be piggybacked on SWIM packets,
 *   each sent a limited number of times (memberlist's TransmitLimitedQueue);
 * - DeltaLog: recent deltas per origin, to answer a digest with exactly the
 *   counter ranges a peer lacks (the delta-interval idea of Almeida et al.);
 * - HeldDeltas: deltas that arrived before an earlier one of the same origin,
 *   held until the gap fills (causal delivery) or dropped for a full sync.
 * None of them grows past its limit, whoever stops answering.
 */
import type { ReplicaId } from './causal-context.ts'
import type { Delta } from './dot-store.ts'

interface Queued {
  id: string
  bytes: Uint8Array
}

/**
 * Items are bucketed by transmits left, so taking the least-sent first costs no sort:
 * a packet is filled from the fullest bucket down, newest first within a bucket. A take
 * stops once the packet is nearly full or after a few items that did not fit, so a
 * backlog of thousands costs about one packet's worth of work per packet.
 */
export class BroadcastQueue {
  private buckets: Queued[][] = []
  private ids = new Set<string>()
  private count = 0

  constructor(private readonly max: number) {}

  get length(): number {
    return this.count
  }

  push(id: string, bytes: Uint8Array, transmits: number): void {
    if (this.ids.has(id) || transmits <= 0) return
    ;(this.buckets[transmits] ??= []).push({ id, bytes })
    this.ids.add(id)
    this.count++
    if (this.count > this.max) {
      // Drop the most-sent, then oldest: it has had its chance to spread.
      for (const b of this.buckets)
        if (b && b.length > 0) {
          this.ids.delete((b.shift() as Queued).id)
          this.count--
          break
        }
    }
  }

  /** Picks payloads, least-sent first, that fit `limitBytes` with `overheadBytes` each. */
  take(overheadBytes: number, limitBytes: number): Uint8Array[] {
    const out: Uint8Array[] = []
    const demoted: Array<[number, Queued]> = []
    let used = 0
    let misses = 0
    scan: for (let left = this.buckets.length - 1; left >= 1; left--) {
      const b = this.buckets[left]
      if (!b) continue
      for (let i = b.length - 1; i >= 0; i--) {
        const it = b[i] as Queued
        const cost = overheadBytes + it.bytes.byteLength
        if (cost > limitBytes) {
          // It will never fit a packet: drop it; the digest pull carries it instead.
          b.splice(i, 1)
          this.ids.delete(it.id)
          this.count--
          continue
        }
        if (used + cost > limitBytes) {
          if (++misses > TAKE_MAX_MISSES) break scan
          continue
        }
        used += cost
        out.push(it.bytes)
        b.splice(i, 1)
        if (left > 1) demoted.push([left - 1, it])
        else {
          this.ids.delete(it.id)
          this.count--
        }
        if (limitBytes - used < overheadBytes + TAKE_MIN_PAYLOAD) break scan
      }
    }
    for (const [left, it] of demoted) (this.buckets[left] ??= []).push(it)
    return out
  }
}

/** Items tried that did not fit before a take gives up on filling the packet further. */
const TAKE_MAX_MISSES = 16
/** A packet with less room than this (plus overhead) counts as full. */
const TAKE_MIN_PAYLOAD = 32

interface Logged {
  delta: Delta
  bytes: number
  seq: number
}

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
    const last = list[list.length - 1]
    // Keep each origin's log gapless and ordered; a delta that does not extend it restarts it.
    if (last && d.lo !== last.delta.hi + 1) {
      if (d.lo <= last.delta.hi) return
      for (const l of list) this.totalBytes -= l.bytes
      list.length = 0
    }
    list.push({ delta: d, bytes, seq: this.seq++ })
    this.totalBytes += bytes
    while (list.length > this.maxPerOrigin) this.totalBytes -= (list.shift() as Logged).bytes
    while (this.totalBytes > this.maxBytes) this.evictOldest()
  }

  /** Drops the oldest logged delta of any origin (origins with nothing left are forgotten). */
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

  /** The deltas covering counters after..upTo of `origin`, or null if the log does not reach back that far. */
  range(origin: ReplicaId, after: number, upTo: number): Delta[] | null {
    return this.rangeSized(origin, after, upTo)?.map((l) => l.delta) ?? null
  }

  /** As range(), with each delta's encoded size. */
  rangeSized(origin: ReplicaId, after: number, upTo: number): Array<{ delta: Delta; bytes: number }> | null {
    const list = this.byOrigin.get(origin)
    if (!list || list.length === 0) return null
    const first = list[0] as Logged
    if (first.delta.lo > after + 1) return null
    const out = list.filter((l) => l.delta.hi > after && l.delta.lo <= upTo)
    const last = out[out.length - 1]
    if (!last || last.delta.hi < upTo) return null
    return out
  }

  forget(origin: ReplicaId): void {
    for (const l of this.byOrigin.get(origin) ?? []) this.totalBytes -= l.bytes
    this.byOrigin.delete(origin)
  }
}

/**
 * Held deltas per origin, sorted by first counter. Only an origin's first held delta
 * can become ready (the rest wait for it), so releasing after each join looks at one
 * delta per origin, not at everything held.
 */
export class HeldDeltas {
  private byOrigin = new Map<ReplicaId, Array<{ delta: Delta; seq: number }>>()
  private count = 0
  private seq = 0

  constructor(private readonly max: number) {}

  get size(): number {
    return this.count
  }

  /** Holds a delta; returns true if something had to be dropped to make room. */
  hold(d: Delta): boolean {
    let list = this.byOrigin.get(d.origin)
    if (!list) this.byOrigin.set(d.origin, (list = []))
    let i = list.length
    while (i > 0 && (list[i - 1] as { delta: Delta }).delta.lo > d.lo) i--
    if (i > 0 && (list[i - 1] as { delta: Delta }).delta.lo === d.lo) return false // held already
    list.splice(i, 0, { delta: d, seq: this.seq++ })
    this.count++
    if (this.count <= this.max) return false
    let victim: Array<{ delta: Delta; seq: number }> | undefined
    let at = 0
    let min = Infinity
    for (const l of this.byOrigin.values())
      for (let j = 0; j < l.length; j++) if ((l[j] as { seq: number }).seq < min) [victim, at, min] = [l, j, (l[j] as { seq: number }).seq]
    if (victim) {
      const [gone] = victim.splice(at, 1)
      this.count--
      if (victim.length === 0 && gone) this.byOrigin.delete(gone.delta.origin)
    }
    return true
  }

  /** Removes and returns held deltas that are now causally ready or already covered. */
  takeReady(ready: (d: Delta) => boolean): Delta[] {
    const out: Delta[] = []
    for (const [origin, list] of this.byOrigin) {
      while (list.length > 0 && ready((list[0] as { delta: Delta }).delta)) {
        out.push((list.shift() as { delta: Delta }).delta)
        this.count--
      }
      if (list.length === 0) this.byOrigin.delete(origin)
    }
    return out.sort((a, b) => a.lo - b.lo)
  }

  /** Every held delta (to tell a peer which dots we already have, though not yet joined). */
  *deltas(): IterableIterator<Delta> {
    for (const list of this.byOrigin.values()) for (const h of list) yield h.delta
  }

  holds(origin: ReplicaId): boolean {
    return this.byOrigin.has(origin)
  }

  /** Origins with held deltas (whose earlier deltas we lack). */
  origins(): IterableIterator<ReplicaId> {
    return this.byOrigin.keys()
  }

  forget(origin: ReplicaId): void {
    this.count -= this.byOrigin.get(origin)?.length ?? 0
    this.byOrigin.delete(origin)
  }
}
