/**
 * Anti-entropy for a causal dot store (Almeida et al. 2018, §7 "causal delta
 * merging"; Akka Distributed Data's delta + digest gossip), in three parts:
 * - here, the send side and the digest exchange: local deltas are grouped
 *   (delta-group.ts), logged and queued for piggybacking, and every delta joined
 *   for the first time is logged and re-queued (epidemic relay); digests and
 *   sync requests go out, and peers' digests are kept for pruning;
 * - causal-delivery.ts, the receive side: a remote delta is joined when every
 *   dot it removes is here, else held; full states join; lost deltas show as gaps;
 * - sync-server.ts, the sync-reply side: a peer's context is answered with
 *   exactly the logged deltas it lacks, or full state.
 */
import { retransmitLimit } from '../membership/math.ts'
import type { CausalContext, ReplicaId } from './causal-context.ts'
import { CausalDelivery, type DeliveryHooks, type DeltaResult } from './causal-delivery.ts'
import { Tag, decodeMessage, encodeDelta, encodeDigest, encodeFull, encodeSyncRequestFor, type Decoded } from './codec.ts'
import type { CausalState, Delta } from './dot-store.ts'
import { groupDeltas, ownDelta } from './delta-group.ts'
import { DeltaQueue } from './delta-queue.ts'
import { DeltaLog, type HeldDeltas } from './gossip-buffers.ts'
import type { Hlc } from './hlc.ts'
import type { CrdtLimits } from './limits.ts'
import type { Replica } from './replica.ts'
import { SyncServer, type SyncReplyHooks } from './sync-server.ts'

export type { DeltaResult }

export interface AntiEntropyHooks extends DeliveryHooks, SyncReplyHooks {
  /** Runs `fn` in `ms` (the Clock seam); without it local deltas ship one by one. */
  schedule?(ms: number, fn: () => void): void
}

export class AntiEntropy {
  readonly queue: DeltaQueue
  readonly log: DeltaLog
  readonly peers = new Map<string, { ctx: CausalContext; at: number }>()
  private readonly delivery: CausalDelivery
  private readonly server: SyncServer
  /** Live nodes, at least 1 (set by pruning from membership): deltas are retransmitted by it. */
  private clusterSize = 1

  constructor(
    private readonly rep: Replica,
    private readonly L: CrdtLimits,
    hlc: Hlc,
    private readonly hooks: AntiEntropyHooks,
    private readonly nowMs: () => number,
  ) {
    // Local deltas are cut to maxDeltaBytes so that they fit any gossip packet, with its framing (limits.ts).
    this.queue = new DeltaQueue(L.maxBroadcastQueue, L.maxDeltaBytes + 64)
    this.log = new DeltaLog(L.maxLogPerOrigin, L.maxLogBytes)
    this.delivery = new CausalDelivery(rep, L, hlc, hooks, {
      record: (d, bytes, spread, urgent) => this.record(d, bytes, spread, urgent),
      forget: (r) => this.log.forget(r),
    })
    this.server = new SyncServer(rep, L, this.log, hooks, nowMs)
  }

  get held(): HeldDeltas {
    return this.delivery.held
  }

  /** Set when causal gaps were dropped: the next digest exchange should pull. */
  get wantSync(): boolean {
    return this.delivery.wantSync
  }

  /** Tells how many nodes are live (membership's count): it sets how often each delta is piggybacked. */
  setClusterSize(n: number): void {
    this.clusterSize = Math.max(1, n)
  }

  /** memberlist's retransmit limit, the one membership uses too. */
  private transmits(): number {
    return retransmitLimit(this.L.retransmitMult, this.clusterSize)
  }

  // ---- the send side ----

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
    if (this.L.localBatchMs <= 0 || !schedule) return this.record(d, bytes, true, false, true)
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
    this.record(d, alone ?? encodeDelta(d), true, urgent, true)
  }

  /** Logs a delta for sync replies and, when `spread`, queues it to be piggybacked. */
  private record(d: Delta, bytes: Uint8Array, spread: boolean, urgent: boolean, own = false): void {
    this.log.add(d, bytes.byteLength)
    if (spread) this.queue.push(`${d.origin}\u0000${d.lo}`, bytes, this.transmits(), urgent, own)
  }

  /** Deltas to piggyback (least-sent first) within `limitBytes`, the pending local group included. */
  takeBroadcasts(overheadBytes: number, limitBytes: number): Uint8Array[] {
    this.flushLocal()
    return this.queue.take(overheadBytes, limitBytes)
  }

  // ---- the receive side (causal-delivery.ts) ----

  /** A raw piggybacked message from a peer; the delta (if it decoded) and what became of it. */
  receive(from: string, buf: Uint8Array): { result: DeltaResult; delta?: Delta } {
    return this.delivery.receive(from, buf)
  }

  /** Joins, holds or rejects one delta. `relayBytes` re-queues it for epidemic spread. */
  receiveDelta(d: Delta, relayBytes?: Uint8Array): DeltaResult {
    return this.delivery.receiveDelta(d, relayBytes)
  }

  /** Joins a full state (join sync, or a peer too far ahead). Returns false if rejected. */
  mergeFull(s: CausalState): boolean {
    return this.delivery.mergeFull(s)
  }

  /** Moves the HLC past every stamp in `s` (a restored snapshot). */
  observeStamps(s: CausalState): void {
    this.delivery.observeStamps(s)
  }

  /** The replicas whose dots `d` waits for: a gap is best asked of them. */
  waitingOn(d: Delta): ReplicaId[] {
    return this.delivery.waitingOn(d)
  }

  /** Replicas whose dots we know we lack (held deltas wait for them, or our context has a hole). */
  gaps(): Set<ReplicaId> {
    return this.delivery.gaps()
  }

  /** Forgets a folded replica's log and held deltas; deltas that waited for its (now folded) dots go ahead. */
  forget(r: ReplicaId): void {
    this.delivery.forget(r)
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

  /** Exactly what a peer with context `peer` lacks (sync-server.ts), our pending local deltas included. */
  syncReply(peer: CausalContext, only?: ReadonlySet<ReplicaId>): Uint8Array {
    this.flushLocal()
    return this.server.reply(peer, only)
  }

  /** A peer's sync request (handleUserRequest): its digest is kept, and the reply is exactly what it lacks; null for anything else. */
  answerSync(from: string, buf: Uint8Array): Uint8Array | null {
    const r = decodeMessage(buf, this.L)
    if (!r.ok || (r.msg.tag !== Tag.SyncRequest && r.msg.tag !== Tag.SyncRequestFor)) return null
    this.recordPeer(from, r.msg.ctx)
    return this.syncReply(r.msg.ctx, r.msg.tag === Tag.SyncRequestFor ? new Set(r.msg.origins) : undefined)
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

  /** Applies a sync reply (or a push/pull payload); returns null if it was rejected. */
  applyMessage(from: string, buf: Uint8Array): Decoded | null {
    const r = decodeMessage(buf, this.L)
    if (!r.ok) {
      this.delivery.reject(r.error)
      return null
    }
    const m = r.msg
    if (m.tag === Tag.SyncReplyDeltas) {
      for (const d of m.deltas) this.delivery.receiveDelta(d)
      // An empty reply may be a peer deferring full state: keep wanting a sync.
      if (m.deltas.length > 0) this.delivery.wantSync = false
    } else if (m.tag === Tag.SyncReplyFull || m.tag === Tag.Full) {
      if (this.delivery.mergeFull(m.state)) this.recordPeer(from, m.state.ctx.clone())
      this.delivery.wantSync = false
    } else if (m.tag === Tag.Digest || m.tag === Tag.SyncRequest || m.tag === Tag.SyncRequestFor) {
      this.recordPeer(from, m.ctx)
    } else if (m.tag === Tag.Delta) {
      this.delivery.receiveDelta(m.delta)
    } else {
      this.delivery.reject(`unexpected tag ${m.tag}`)
      return null
    }
    return m
  }
}
