/**
 * Anti-entropy for a causal dot store (Almeida et al. 2018, §7 "causal delta
 * merging"; Akka Distributed Data's delta + digest gossip):
 * - local deltas are logged and queued for piggybacking (epidemic relay: a node
 *   re-queues every delta it applies for the first time);
 * - a remote delta is joined only when causally safe — every dot it removes is
 *   here (see missing()) — otherwise it is held (bounded) until those come, or
 *   dropped and repaired by a pull; health writes remove nothing (registers), so
 *   they always join on arrival, in any order;
 * - a lost delta shows as a hole in the context once a later one of its origin
 *   joins, and is pulled (gossip-delegate.ts);
 * - a digest sync answers a peer's causal context with exactly the logged
 *   deltas it lacks, in order, or with full state when the log does not reach
 *   back far enough or the peer is new. Deltas only ever carry the dots their
 *   mutation removed, so a partial sync cannot delete a live key.
 */
import { retransmitLimit } from '../membership/math.ts'
import { CausalContext, type ReplicaId } from './causal-context.ts'
import { Tag, decodeMessage, encodeDelta, encodeDigest, encodeFull, encodeSyncDeltas, encodeSyncRequestFor, type Decoded } from './codec.ts'
import { type CausalState, type Delta, unseenEntries } from './dot-store.ts'
import { groupDeltas, ownDelta } from './delta-group.ts'
import { DeltaQueue } from './delta-queue.ts'
import { DeltaLog, HeldDeltas } from './gossip-buffers.ts'
import { isHlcStamp, type Hlc, type HlcStamp } from './hlc.ts'
import type { CrdtLimits } from './limits.ts'
import type { Replica } from './replica.ts'

export type DeltaResult = 'applied' | 'held' | 'rejected' | 'duplicate'

export interface AntiEntropyHooks {
  count(result: DeltaResult, n?: number): void
  /** Keys whose entries changed; returns true when that is news (a status change) to spread first. */
  changed(keys: Set<string>): boolean | void
  /** Called with a reason whenever a message is rejected (for logs and tests). */
  rejected?(reason: string): void
  /** A peer holds dots of our own id that we never minted (a stale snapshot): re-incarnate. */
  ownFuture?(): void
  /** A folded replica's dots beyond its fold arrived: revive its context entry. */
  revived?(r: ReplicaId): void
  /** A sync reply was cut short: the byte budget was spent, or a full state had to wait. For metrics. */
  syncDeferred?(reason: 'budget' | 'full'): void
  /** A sync reply went out: deltas (possibly none) or a full state, with its size. For metrics. */
  syncReplied?(kind: 'deltas' | 'full', bytes: number): void
  /** Runs `fn` in `ms` (the Clock seam); without it local deltas ship one by one. */
  schedule?(ms: number, fn: () => void): void
}

export class AntiEntropy {
  readonly queue: DeltaQueue
  readonly log: DeltaLog
  readonly held: HeldDeltas
  readonly peers = new Map<string, { ctx: CausalContext; at: number }>()
  clusterSize = 1
  /** Set when causal gaps were dropped: the next digest exchange should pull. */
  wantSync = false

  constructor(
    private readonly rep: Replica,
    private readonly L: CrdtLimits,
    private readonly hlc: Hlc,
    private readonly hooks: AntiEntropyHooks,
    private readonly nowMs: () => number,
  ) {
    // Local deltas are cut to maxDeltaBytes so that they fit any gossip packet, with its framing (limits.ts).
    this.queue = new DeltaQueue(L.maxBroadcastQueue, L.maxDeltaBytes + 64)
    this.log = new DeltaLog(L.maxLogPerOrigin, L.maxLogBytes)
    this.held = new HeldDeltas(L.maxHeldDeltas)
  }

  /** memberlist's retransmit limit, the one membership uses too; clusterSize is at least 1, so every delta goes out. */
  private transmits(): number {
    return retransmitLimit(this.L.retransmitMult, this.clusterSize)
  }

  /** Local deltas not yet shipped, grouped into one (delta-group.ts). */
  private pending?: Delta
  /** Sum of the grouped deltas' encoded sizes (the group's own encoding is no larger). */
  private pendingBytes = 0
  /** The encoding of `pending` while it holds a single delta (saves a second encode). */
  private pendingAlone?: Uint8Array
  private pendingTimer = false

  /**
   * Ships a locally minted delta (already joined locally). Deltas minted close together
   * are grouped, up to maxKeysPerDelta keys, maxDeltaBytes or localBatchMs, and every
   * reader of the queue, the log or our digest flushes first, so nobody sees a counter
   * we have not shipped.
   */
  local(d: Delta): void {
    const schedule = this.hooks.schedule
    const bytes = encodeDelta(d)
    if (this.L.localBatchMs <= 0 || !schedule) return this.ship(d, bytes)
    const p = this.pending
    if (p && (p.origin !== d.origin || p.hi + 1 !== d.lo || this.pendingBytes + bytes.byteLength > this.L.maxDeltaBytes)) this.flushLocal()
    if (this.pending) {
      groupDeltas(this.pending, d)
      this.pendingBytes += bytes.byteLength
      this.pendingAlone = undefined
    } else {
      this.pending = ownDelta(d)
      this.pendingBytes = bytes.byteLength
      this.pendingAlone = bytes
    }
    if (this.pending.store.size >= this.L.maxKeysPerDelta) return this.flushLocal()
    if (!this.pendingTimer) {
      this.pendingTimer = true
      schedule(this.L.localBatchMs, () => {
        this.pendingTimer = false
        this.flushLocal()
      })
    }
  }

  /** Ships the pending local group now; `urgent` when it carries news (a status change). */
  flushLocal(urgent = false): void {
    const d = this.pending
    if (!d) return
    const alone = this.pendingAlone
    this.pending = undefined
    this.pendingAlone = undefined
    this.pendingBytes = 0
    this.ship(d, alone ?? encodeDelta(d), urgent)
  }

  private ship(d: Delta, bytes: Uint8Array, urgent = false): void {
    this.log.add(d, bytes.byteLength)
    this.queue.push(`${d.origin}\u0000${d.lo}`, bytes, this.transmits(), urgent)
  }

  /** Deltas to piggyback (least-sent first) within `limitBytes`, the pending local group included. */
  takeBroadcasts(overheadBytes: number, limitBytes: number): Uint8Array[] {
    this.flushLocal()
    return this.queue.take(overheadBytes, limitBytes)
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

  private reject(reason: string, n = 1): void {
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
    const bytes = relayBytes ?? encodeDelta(d)
    this.log.add(d, bytes.byteLength)
    if (relayBytes || news) this.queue.push(`${d.origin}\u0000${d.lo}`, bytes, this.transmits(), news)
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

  // ---- digests and sync ----

  digest(tag: typeof Tag.Digest | typeof Tag.SyncRequest = Tag.Digest): Uint8Array {
    this.flushLocal()
    return encodeDigest(tag, this.rep.state.ctx)
  }

  fullState(tag: typeof Tag.Full | typeof Tag.SyncReplyFull = Tag.Full): Uint8Array {
    this.flushLocal()
    return encodeFull(tag, this.rep.state)
  }

  recordPeer(peer: string, ctx: CausalContext): void {
    this.peers.delete(peer)
    this.peers.set(peer, { ctx, at: this.nowMs() })
    while (this.peers.size > this.L.maxPeers) {
      const first = this.peers.keys().next().value as string
      this.peers.delete(first)
    }
  }

  /** True if `peer` has seen dots we have not (we should pull from it). */
  behind(peerCtx: CausalContext): boolean {
    const mine = this.rep.state.ctx
    for (const r of peerCtx.replicas()) {
      const f = mine.foldedReplicas().get(r)
      if (f !== undefined && peerCtx.top(r) <= f) continue
      if (peerCtx.top(r) > mine.contiguous(r) || peerCtx.exceptionCount() > 0) {
        if (!peerCtx.leq(mine)) return true
      }
    }
    return false
  }

  private lastFullReplyAt = Number.NEGATIVE_INFINITY
  /** The sync-reply byte budget (token bucket) and when it was last topped up. */
  private syncTokens = Number.POSITIVE_INFINITY
  private syncTokensAt = 0

  /**
   * Exactly what a peer with context `peer` lacks: logged deltas in causal order, or
   * full state. Full state is costly (megabytes at 10,000 targets), so at most one goes
   * out per fullReplyMinIntervalMs; a request past that gets an empty reply and the
   * asker tries again (it still holds its gap) with another peer or a little later.
   */
  syncReply(peer: CausalContext, only?: ReadonlySet<ReplicaId>): Uint8Array {
    this.flushLocal()
    const now = this.nowMs()
    // A byte budget over all sync replies (token bucket, may go into debt by one reply):
    // when many peers pull at once, each still gets an answer in turn, and serving them
    // never takes more than maxSyncReplyBytesPerS of this node's bandwidth and CPU.
    const rate = this.L.maxSyncReplyBytesPerS
    this.syncTokens = Math.min(rate, this.syncTokens + ((now - this.syncTokensAt) * rate) / 1000)
    this.syncTokensAt = now
    if (this.syncTokens <= 0) {
      this.hooks.syncDeferred?.('budget')
      return encodeSyncDeltas([])
    }
    const { deltas, needFull } = this.deltasFor(peer, only)
    let out: Uint8Array
    const fullAllowed = !only && now - this.lastFullReplyAt >= this.L.fullReplyMinIntervalMs
    let kind: 'deltas' | 'full' = 'deltas'
    if (needFull && fullAllowed) {
      this.lastFullReplyAt = now
      kind = 'full'
      out = this.fullState(Tag.SyncReplyFull)
    } else {
      // A targeted ask never costs a full state; a full state that must wait leaves the
      // asker with what the log can give now (it still holds its gap and asks again).
      if (needFull && !only) this.hooks.syncDeferred?.('full')
      out = encodeSyncDeltas(deltas)
    }
    this.syncTokens -= out.byteLength
    this.hooks.syncReplied?.(kind, out.byteLength)
    return out
  }

  /**
   * The logged deltas `peer` lacks, and whether only a full state would do: the peer is
   * new, lacks over half of what we hold, or lacks dots of ours that no logged delta
   * carries (the log no longer reaches back, or they came in a full state) while the log
   * has nothing else for it. Such dots are usually still in their origin's log, and the
   * peer asks the origin in its turn; a full state (megabytes, a budget's worth of
   * seconds) is for when nothing else would ever fill the gap. Deltas whose every dot the
   * peer already has (it holds them for a gap) are left out, and the deltas stop at
   * maxSyncReplyBytes: the peer joins what it got and pulls the rest next time.
   */
  private deltasFor(peer: CausalContext, only?: ReadonlySet<ReplicaId>): { deltas: Delta[]; needFull: boolean } {
    const mine = this.rep.state.ctx
    let needFull = !only && peer.replicas().length === 0 && this.rep.state.store.size > 0
    let gapOnlyFullFills = false
    // Some dot in lo..hi of r that we hold and the peer lacks (so only a full state carries it).
    const unlogged = (r: ReplicaId, lo: number, hi: number) => {
      for (let n = lo; n <= hi; n++) if (mine.has(r, n) && !peer.has(r, n)) return true
      return false
    }
    const ranges: Array<Array<{ delta: Delta; bytes: number }>> = []
    for (const r of only ?? mine.replicas()) {
      const theirs = peer.contiguous(r)
      const ours = mine.top(r)
      if (ours <= theirs) continue
      const ds = this.log.since(r, theirs)
      let next = theirs + 1
      for (const { delta } of ds) {
        if (!gapOnlyFullFills && delta.lo > next && unlogged(r, next, delta.lo - 1)) gapOnlyFullFills = true
        next = delta.hi + 1
      }
      if (!gapOnlyFullFills && next <= ours && unlogged(r, next, ours)) gapOnlyFullFills = true
      if (ds.length > 0) ranges.push(ds)
    }
    if (!only && ranges.length > 0 && !needFull) {
      const unseen = unseenEntries(this.rep.state, peer)
      if (unseen > this.L.fullSyncThresholdEntries && 2 * unseen > this.entryCount()) needFull = true
    }
    const deltas: Delta[] = []
    let bytes = 0
    for (const ds of ranges)
      for (const { delta, bytes: b } of ds) {
        if (coveredBy(peer, delta)) continue
        if (bytes + b > this.L.maxSyncReplyBytes && deltas.length > 0) break
        bytes += b
        deltas.push(delta)
      }
    if (gapOnlyFullFills && deltas.length === 0) needFull = true
    return { deltas, needFull }
  }

  /** Entries in our store (the size of a full state, in entries). */
  private entryCount(): number {
    let c = 0
    for (const es of this.rep.state.store.values()) c += es.length
    return c
  }

  /**
   * A sync request: our context plus the dots of held deltas, so the reply skips them.
   * With `origins`, it asks only about those (a gap asked of its origin): the reply is
   * then the gap alone, never other origins' deltas or a full state.
   */
  syncRequest(origins?: ReplicaId[]): Uint8Array {
    this.flushLocal()
    let ctx = this.rep.state.ctx
    if (this.held.size > 0) {
      ctx = ctx.clone()
      for (const d of this.held.deltas()) ctx.addRange(d.origin, d.lo, d.hi)
    }
    return origins && origins.length > 0 ? encodeSyncRequestFor(ctx, origins) : encodeDigest(Tag.SyncRequest, ctx)
  }

  /** Applies a sync reply (or a push/pull payload); returns false if it was rejected. */
  applyMessage(from: string, buf: Uint8Array): Decoded | null {
    const r = decodeMessage(buf, this.L)
    if (!r.ok) {
      this.reject(r.error)
      return null
    }
    const m = r.msg
    if (m.tag === Tag.SyncReplyDeltas) {
      for (const d of m.deltas) this.receiveDelta(d)
      // An empty reply may be a peer deferring full state: keep wanting a sync.
      if (m.deltas.length > 0) this.wantSync = false
    } else if (m.tag === Tag.SyncReplyFull || m.tag === Tag.Full) {
      if (this.mergeFull(m.state)) this.recordPeer(from, m.state.ctx.clone())
      this.wantSync = false
    } else if (m.tag === Tag.Digest || m.tag === Tag.SyncRequest || m.tag === Tag.SyncRequestFor) {
      this.recordPeer(from, m.ctx)
    } else if (m.tag === Tag.Delta) {
      this.receiveDelta(m.delta)
    } else {
      this.reject(`unexpected tag ${m.tag}`)
      return null
    }
    return m
  }

  /** Forgets a folded replica's log and held deltas; deltas that waited for its (now folded) dots go ahead. */
  forget(r: ReplicaId): void {
    this.log.forget(r)
    this.held.forget(r)
    this.releaseAll()
  }
}

/** Dots a held delta is indexed under at most; it is looked at again when they come. */
const MAX_NEEDS = 64

/** True when every dot of `d`'s range is in `ctx` (a duplicate, or something a peer already holds). */
function coveredBy(ctx: CausalContext, d: Delta): boolean {
  if (d.hi <= ctx.contiguous(d.origin)) return true
  for (let n = d.lo; n <= d.hi; n++) if (!ctx.has(d.origin, n)) return false
  return true
}
