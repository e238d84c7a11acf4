/**
 * DeltaQueue: encoded deltas waiting to be piggybacked on SWIM packets, each
 * sent a limited number of times (memberlist's TransmitLimitedQueue, queue.go).
 * A bounded buffer of anti-entropy: it never grows past its limit. Named apart
 * from membership's BroadcastQueue (src/membership/broadcast-queue.ts), which
 * carries membership's own messages; this one carries only CRDT deltas, with an
 * urgent lane for news.
 */

interface Queued {
  id: string
  bytes: Uint8Array
}

/**
 * Items are bucketed by transmits left, so taking the least-sent first costs no sort:
 * a packet is filled from the fullest bucket down, newest first within a bucket. A take
 * stops once the packet is nearly full or after a few items that did not fit, so a
 * backlog of thousands costs about one packet's worth of work per packet.
 *
 * Urgent items (a status change) go ahead of everything, oldest first, for all their
 * transmits: behind a start-up's backlog of thousands, newest-first among equals would
 * let every later relay overtake them.
 *
 * This node's own writes come next, for their first FRESH_SENDS transmits (one gossip
 * round's fan-out), newest first, then join the buckets. Only their origin has them, while
 * any relay is one of many copies: in a simulated cold start of 50 agents, a target
 * registered through the API left its node once and then lay under hundreds of newer
 * relays, reaching 9 of 50 agents in 5 s.
 */
export class DeltaQueue {
  private buckets: Queued[][] = []
  private urgent: Array<{ it: Queued; left: number }> = []
  /** Own writes waiting for their first sends, oldest first (taken from the end); `left` counts all their transmits. */
  private fresh: Array<{ it: Queued; left: number; sends: number }> = []
  private ids = new Set<string>()
  private count = 0
  /**
   * The largest room any take has offered. A take's room is what is left of one packet
   * after the membership layer's own messages, so an item that does not fit this take
   * may fit the next: only one bigger than the largest room ever offered (and than
   * `fits`, the size every packet is known to take) never will.
   */
  private widest: number

  constructor(private readonly max: number, fits = 0) {
    this.widest = fits
  }

  get length(): number {
    return this.count
  }

  /** Queues a delta for `transmits` sends; `urgent` for news, `own` for a write of this node's. */
  push(id: string, bytes: Uint8Array, transmits: number, urgent = false, own = false): void {
    if (transmits <= 0) return
    if (this.ids.has(id)) {
      if (urgent) this.promote(id, transmits)
      return
    }
    if (urgent) this.urgent.push({ it: { id, bytes }, left: transmits })
    else if (own) {
      this.fresh.push({ it: { id, bytes }, left: transmits, sends: 0 })
      // Beyond the lane's room the oldest own writes wait with the relays (a file of
      // thousands must not hold back this node's relays, nor its next write).
      if (this.fresh.length > FRESH_MAX) {
        const old = this.fresh.shift() as { it: Queued; left: number }
        ;(this.buckets[old.left] ??= []).push(old.it)
      }
    } else (this.buckets[transmits] ??= []).push({ id, bytes })
    this.ids.add(id)
    this.count++
    if (this.count > this.max) {
      // Drop the most-sent, then oldest: it has had its chance to spread. Urgent ones last.
      let dropped = false
      for (const b of this.buckets)
        if (b && b.length > 0) {
          this.ids.delete((b.shift() as Queued).id)
          this.count--
          dropped = true
          break
        }
      if (!dropped && this.fresh.length > 0) {
        this.ids.delete((this.fresh.shift() as { it: Queued }).it.id)
        this.count--
        dropped = true
      }
      if (!dropped && this.urgent.length > 0) {
        this.ids.delete((this.urgent.shift() as { it: Queued }).it.id)
        this.count--
      }
    }
  }

  /** Moves a queued item to the urgent lane (it turned out to carry news). */
  private promote(id: string, transmits: number): void {
    if (this.urgent.some((u) => u.it.id === id)) return
    const f = this.fresh.findIndex((x) => x.it.id === id)
    if (f >= 0) {
      const [x] = this.fresh.splice(f, 1)
      this.urgent.push({ it: (x as { it: Queued }).it, left: transmits })
      return
    }
    for (const b of this.buckets) {
      const i = b ? b.findIndex((q) => q.id === id) : -1
      if (b && i >= 0) {
        const [it] = b.splice(i, 1)
        this.urgent.push({ it: it as Queued, left: transmits })
        return
      }
    }
  }

  /** Picks payloads, urgent first, then least-sent first, that fit `limitBytes` with `overheadBytes` each. */
  take(overheadBytes: number, limitBytes: number): Uint8Array[] {
    const out: Uint8Array[] = []
    const demoted: Array<[number, Queued]> = []
    let used = 0
    let misses = 0
    if (limitBytes > this.widest) this.widest = limitBytes
    for (let i = 0; i < this.urgent.length; i++) {
      const u = this.urgent[i] as { it: Queued; left: number }
      const cost = overheadBytes + u.it.bytes.byteLength
      const never = cost > this.widest
      if (used + cost > limitBytes && !never) continue
      if (!never) {
        used += cost
        out.push(u.it.bytes)
      } else u.left = 0 // it will never fit a packet: dropped, as below; the digest pull carries it
      if (--u.left <= 0) {
        this.urgent.splice(i--, 1)
        this.ids.delete(u.it.id)
        this.count--
      }
    }
    for (let i = this.fresh.length - 1; i >= 0; i--) {
      const f = this.fresh[i] as { it: Queued; left: number; sends: number }
      const cost = overheadBytes + f.it.bytes.byteLength
      if (cost > this.widest) {
        this.fresh.splice(i, 1)
        this.ids.delete(f.it.id)
        this.count--
        continue
      }
      if (used + cost > limitBytes) continue
      used += cost
      out.push(f.it.bytes)
      f.left--
      if (++f.sends < FRESH_SENDS && f.left > 0) continue
      this.fresh.splice(i, 1)
      if (f.left > 0) demoted.push([f.left, f.it])
      else {
        this.ids.delete(f.it.id)
        this.count--
      }
    }
    scan: for (let left = this.buckets.length - 1; left >= 1; left--) {
      const b = this.buckets[left]
      if (!b) continue
      for (let i = b.length - 1; i >= 0; i--) {
        const it = b[i] as Queued
        const cost = overheadBytes + it.bytes.byteLength
        if (cost > this.widest) {
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

/** Sends an own write gets ahead of the relays: one gossip round's fan-out (gossipNodes, 3 on every profile). */
const FRESH_SENDS = 3
/** Own writes waiting for their first sends at most; older ones wait with the relays. */
const FRESH_MAX = 32
/** Items tried that did not fit before a take gives up on filling the packet further. */
const TAKE_MAX_MISSES = 16
/** A packet with less room than this (plus overhead) counts as full. */
const TAKE_MIN_PAYLOAD = 32
