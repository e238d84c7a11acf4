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
  left: number
  seq: number
}

export class BroadcastQueue {
  private items: Queued[] = []
  private ids = new Set<string>()
  private seq = 0

  constructor(private readonly max: number) {}

  get length(): number {
    return this.items.length
  }

  push(id: string, bytes: Uint8Array, transmits: number): void {
    if (this.ids.has(id)) return
    this.items.push({ id, bytes, left: transmits, seq: this.seq++ })
    this.ids.add(id)
    if (this.items.length > this.max) {
      // Drop the most-sent (then oldest): it has had its chance to spread. A linear scan,
      // not a sort: a full queue (a cluster of one never drains it) pushes on every write.
      let worst = 0
      for (let i = 1; i < this.items.length; i++) {
        const a = this.items[i] as Queued
        const w = this.items[worst] as Queued
        if (a.left < w.left || (a.left === w.left && a.seq < w.seq)) worst = i
      }
      const [gone] = this.items.splice(worst, 1)
      if (gone) this.ids.delete(gone.id)
    }
  }

  /** Picks payloads, least-sent first, that fit `limitBytes` with `overheadBytes` each. */
  take(overheadBytes: number, limitBytes: number): Uint8Array[] {
    this.items.sort((a, b) => b.left - a.left || b.seq - a.seq)
    const out: Uint8Array[] = []
    let used = 0
    for (const it of this.items) {
      const cost = overheadBytes + it.bytes.byteLength
      if (cost > limitBytes) {
        // It will never fit a packet: drop it; the digest push/pull carries it instead.
        it.left = 0
        continue
      }
      if (used + cost > limitBytes) continue
      used += cost
      out.push(it.bytes)
      it.left--
    }
    const keep = this.items.filter((it) => it.left > 0)
    for (const it of this.items) if (it.left <= 0) this.ids.delete(it.id)
    this.items = keep
    return out
  }
}

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

export class HeldDeltas {
  private held = new Map<string, { delta: Delta; seq: number }>()
  private seq = 0

  constructor(private readonly max: number) {}

  get size(): number {
    return this.held.size
  }

  /** Holds a delta; returns true if something had to be dropped to make room. */
  hold(d: Delta): boolean {
    this.held.set(`${d.origin}\u0000${d.lo}`, { delta: d, seq: this.seq++ })
    if (this.held.size <= this.max) return false
    let oldest: string | undefined
    let min = Infinity
    for (const [k, v] of this.held) if (v.seq < min) [oldest, min] = [k, v.seq]
    if (oldest !== undefined) this.held.delete(oldest)
    return true
  }

  /** Removes and returns held deltas that are now causally ready or already covered. */
  takeReady(ready: (d: Delta) => boolean): Delta[] {
    const out: Delta[] = []
    for (const [k, v] of this.held)
      if (ready(v.delta)) {
        out.push(v.delta)
        this.held.delete(k)
      }
    return out.sort((a, b) => a.lo - b.lo)
  }

  /** Every held delta (to tell a peer which dots we already have, though not yet joined). */
  deltas(): IterableIterator<Delta> {
    return (function* (held) {
      for (const v of held.values()) yield v.delta
    })(this.held)
  }

  holds(origin: ReplicaId): boolean {
    for (const v of this.held.values()) if (v.delta.origin === origin) return true
    return false
  }

  forget(origin: ReplicaId): void {
    for (const [k, v] of this.held) if (v.delta.origin === origin) this.held.delete(k)
  }
}
