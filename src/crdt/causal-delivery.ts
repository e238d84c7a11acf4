/**
 * The receive side of anti-entropy for a causal dot store (Almeida et al. 2018,
 * §7 "causal delta merging"):
 * - a remote delta is joined only when causally safe — every dot it removes is
 *   here (see missing()) — otherwise it is held (bounded) until those come, or
 *   dropped and repaired by a pull; health writes remove nothing (registers), so
 *   they always join on arrival, in any order;
 * - a lost delta shows as a hole in the context once a later one of its origin
 *   joins (gaps()), and is pulled (gossip-delegate.ts);
 * - a full state (join sync, or a peer too far ahead) joins whole.
 * Every joined delta goes to the outbox: logged for sync replies, and relayed
 * (epidemic spread) when it came by gossip or is news.
 */
import type { ReplicaId } from './causal-context.ts'
import { Tag, decodeMessage, encodeDelta } from './codec.ts'
import { type CausalState, type Delta, coveredBy } from './dot-store.ts'
import { HeldDeltas } from './gossip-buffers.ts'
import { isHlcStamp, type Hlc, type HlcStamp } from './hlc.ts'
import type { CrdtLimits } from './limits.ts'
import type { Replica } from './replica.ts'

export type DeltaResult = 'applied' | 'held' | 'rejected' | 'duplicate'

export interface DeliveryHooks {
  count(result: DeltaResult, n?: number): void
  /** Keys whose entries changed; returns true when that is news (a status change) to spread first. */
  changed(keys: Set<string>): boolean | void
  /** Called with a reason whenever a message is rejected (for logs and tests). */
  rejected?(reason: string): void
  /** A peer holds dots of our own id that we never minted (a stale snapshot): re-incarnate. */
  ownFuture?(): void
  /** A folded replica's dots beyond its fold arrived: revive its context entry. */
  revived?(r: ReplicaId): void
}

/** Where joined deltas go (anti-entropy.ts): the delta log, and the piggyback queue when `spread`. */
export interface Outbox {
  record(d: Delta, bytes: Uint8Array, spread: boolean, urgent: boolean): void
  /** Drops a folded replica's logged deltas. */
  forget(r: ReplicaId): void
}

export class CausalDelivery {
  readonly held: HeldDeltas
  /** Set when causal gaps were dropped: the next digest exchange should pull. */
  wantSync = false

  constructor(
    private readonly rep: Replica,
    private readonly L: CrdtLimits,
    private readonly hlc: Hlc,
    private readonly hooks: DeliveryHooks,
    private readonly outbox: Outbox,
  ) {
    this.held = new HeldDeltas(L.maxHeldDeltas)
  }

  /** A raw piggybacked message from a peer; the delta (if it decoded) and what became of it. */
  receive(from: string, buf: Uint8Array): { result: DeltaResult; delta?: Delta } {
    void from
    const r = decodeMessage(buf, this.L)
    if (!r.ok) {
      this.reject(r.error)
      return { result: 'rejected' }
    }
    if (r.msg.tag !== Tag.Delta) {
      this.reject(`unexpected tag ${r.msg.tag} on gossip`)
      return { result: 'rejected' }
    }
    return { result: this.receiveDelta(r.msg.delta, buf), delta: r.msg.delta }
  }

  reject(reason: string, n = 1): void {
    this.hooks.count('rejected', n)
    this.hooks.rejected?.(reason)
  }

  /** Rejects contexts claiming dots this replica never minted, and stamps too far ahead. */
  private sane(s: CausalState, full = false): string | null {
    const me = this.rep.self
    if (s.ctx.top(me) > this.rep.state.ctx.top(me)) {
      // In a full state this means our snapshot was stale: re-incarnate, and the state is then fine.
      if (!full || !this.hooks.ownFuture) return 'dots from the future (our own, never minted)'
      this.hooks.ownFuture()
    }
    for (const es of s.store.values())
      for (const e of es) {
        const t = (e.v as { t?: unknown }).t
        if (isHlcStamp(t) && !this.hlc.plausible(t)) return 'HLC stamp from the future'
      }
    return null
  }

  observeStamps(s: CausalState): void {
    let max: HlcStamp | undefined
    for (const es of s.store.values())
      for (const e of es) {
        const t = (e.v as { t?: unknown }).t
        if (isHlcStamp(t) && (!max || t[0] > max[0] || (t[0] === max[0] && t[1] > max[1]))) max = t
      }
    if (max) this.hlc.observe(max)
  }

  /** Joins, holds or rejects one delta. `relayBytes` re-queues it for epidemic spread. */
  receiveDelta(d: Delta, relayBytes?: Uint8Array): DeltaResult {
    const ctx = this.rep.state.ctx
    const folded = ctx.foldedReplicas().get(d.origin)
    // Newer dots of a replica we folded: the fold was early. Its marker becomes an
    // ordinary context entry again (same dots seen), and the delta is handled as usual.
    if (folded !== undefined && d.hi > folded) this.hooks.revived?.(d.origin)
    const err = this.sane(d)
    if (err) {
      this.reject(err)
      return 'rejected'
    }
    if (coveredBy(ctx, d)) {
      this.hooks.count('duplicate')
      return 'duplicate'
    }
    // Counters far beyond what we hold of the origin are not believed (and would make our
    // context too ragged to send): rejected, and the gap is pulled instead.
    if (d.lo - ctx.contiguous(d.origin) > this.L.maxHoldGap) {
      this.reject('delta too far ahead of its origin (from the future)')
      this.wantSync = true
      return 'rejected'
    }
    const needs = this.missing(d)
    if (needs.length > 0) {
      if (this.held.hold(d, needs)) this.wantSync = true
      this.hooks.count('held')
      return 'held'
    }
    this.apply(d, relayBytes)
    this.release([d])
    return 'applied'
  }

  /**
   * Causal readiness, per dot rather than per origin: a delta is joined once every dot it
   * removes is here (its origin's earlier write of the same key, a former owner's record).
   * Joining a removal of a dot we have not seen would record that dot as seen, and the
   * delta that carries it would then look like a duplicate and be skipped, with whatever
   * it removed. An origin's unrelated earlier deltas are not waited for: a status change
   * must not queue behind a start-up's thousands of ownership writes still on their way.
   * Joins of a delta-state CRDT commute, so applying deltas in any order that respects
   * these dependencies reaches the same state (Almeida et al. 2018, §7 names per-origin
   * FIFO as one sufficient condition; what the proof uses is that removed dots are seen).
   * Returns the missing dots (up to MAX_NEEDS; a delta still short after they come is
   * looked at again); empty when `d` is ready or is already covered.
   */
  private missing(d: Delta): Array<[ReplicaId, number]> {
    const ctx = this.rep.state.ctx
    const out: Array<[ReplicaId, number]> = []
    if (coveredBy(ctx, d)) return out
    const scan = (r: ReplicaId, lo: number, hi: number) => {
      for (let n = Math.max(lo, ctx.contiguous(r) + 1); n <= hi && out.length < MAX_NEEDS; n++) {
        if (r === d.origin && n >= d.lo && n <= d.hi) {
          n = d.hi
          continue
        }
        if (!ctx.has(r, n)) out.push([r, n])
      }
    }
    for (const [r, max, ex] of d.ctx.encode()) {
      scan(r, 1, max)
      for (let i = 0; i + 1 < ex.length; i += 2) scan(r, ex[i] as number, ex[i + 1] as number)
      if (out.length >= MAX_NEEDS) break
    }
    return out
  }

  /**
   * The replicas whose dots `d` waits for: its origin (an earlier write of the same key
   * missing) and, for a delta that removes others' entries (a takeover overwrites the
   * former owner's record), those others. A gap is best asked of them.
   */
  waitingOn(d: Delta): ReplicaId[] {
    return [...new Set(this.missing(d).map(([r]) => r))]
  }

  /**
   * Joins a ready delta and relays it (epidemic spread) when it came by gossip. News (a
   * status change) is relayed however it came, ahead of everything queued: a node that
   * pulled it in a sync reply would otherwise be a dead end for it.
   */
  private apply(d: Delta, relayBytes?: Uint8Array): void {
    this.observeStamps(d)
    const changed = this.rep.applyDelta(d)
    const news = changed.size > 0 && this.hooks.changed(changed) === true
    this.outbox.record(d, relayBytes ?? encodeDelta(d), relayBytes !== undefined || news, news)
    this.hooks.count('applied')
  }

  /** Joins the held deltas that the just-joined `joined` release, and those they release in turn. */
  private release(joined: Delta[]): void {
    const missing = (h: Delta) => this.missing(h)
    for (let x = joined.pop(); x; x = joined.pop()) this.joinReleased(this.held.arrived(x.origin, x.lo, x.hi, missing), joined)
  }

  /** Rechecks everything held: a full state or a fold made many dots seen at once. */
  private releaseAll(): void {
    const joined: Delta[] = []
    this.joinReleased(this.held.takeReady((h) => this.missing(h)).sort((a, b) => a.lo - b.lo), joined)
    this.release(joined)
  }

  /** Joins (and relays) released deltas not covered meanwhile, adding them to `joined`. */
  private joinReleased(ds: Delta[], joined: Delta[]): void {
    const ctx = this.rep.state.ctx
    for (const d of ds) {
      if (coveredBy(ctx, d)) this.hooks.count('duplicate')
      else {
        this.apply(d, encodeDelta(d))
        joined.push(d)
      }
    }
  }

  /** Joins a full state (join sync, or a peer too far ahead). Returns false if rejected. */
  mergeFull(s: CausalState): boolean {
    const err = this.sane(s, true)
    if (err) {
      this.reject(err)
      return false
    }
    for (const [r, upTo] of [...this.rep.state.ctx.foldedReplicas()]) if (s.ctx.top(r) > upTo) this.hooks.revived?.(r)
    this.observeStamps(s)
    const changed = this.rep.mergeFull(s)
    if (changed.size > 0) this.hooks.changed(changed)
    // Adopt the sender's folds of replicas we know no more of than it did.
    const mine = this.rep.state.ctx
    for (const [r, upTo] of s.ctx.foldedReplicas())
      if (r !== this.rep.self && mine.top(r) <= upTo && !mine.foldedReplicas().has(r) && !this.held.holds(r)) {
        let holds = false
        for (const es of this.rep.state.store.values()) for (const e of es) if (e.r === r) holds = true
        if (holds) continue
        mine.fold(r, upTo, s.ctx.foldedTime(r))
        this.forget(r)
      }
    this.releaseAll()
    return true
  }

  /**
   * Replicas whose dots we know we lack: those held deltas wait for, and those with a
   * hole in our context (a later delta of theirs was joined, an earlier one has not come).
   * Deltas join out of counter order, so a lost one shows only as such a hole.
   */
  gaps(): Set<ReplicaId> {
    const out = new Set(this.held.awaited())
    for (const r of this.rep.state.ctx.holes()) out.add(r)
    return out
  }

  /** Forgets a folded replica's log and held deltas; deltas that waited for its (now folded) dots go ahead. */
  forget(r: ReplicaId): void {
    this.outbox.forget(r)
    this.held.forget(r)
    this.releaseAll()
  }
}

/** Dots a held delta is indexed under at most; it is looked at again when they come. */
const MAX_NEEDS = 64
