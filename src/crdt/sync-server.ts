/**
 * The sync-reply side of anti-entropy (digest-driven delta sync: Almeida et al.
 * 2018, §7; Akka Distributed Data's delta + digest gossip): a peer's causal
 * context in, exactly the logged deltas it lacks out, in order, or full state
 * when the log does not reach back far enough or the peer is new. Deltas only
 * ever carry the dots their mutation removed, so a partial sync cannot delete a
 * live key. Serving is rationed (a byte budget over all replies, one full state
 * per fullReplyMinIntervalMs), so a cluster of askers cannot starve the checks.
 */
import type { CausalContext, ReplicaId } from './causal-context.ts'
import { Tag, encodeFull, encodeSyncDeltas } from './codec.ts'
import { type Delta, coveredBy, unseenEntries } from './dot-store.ts'
import type { DeltaLog } from './gossip-buffers.ts'
import type { CrdtLimits } from './limits.ts'
import type { Replica } from './replica.ts'

export interface SyncReplyHooks {
  /** A sync reply was cut short: the byte budget was spent, or a full state had to wait. For metrics. */
  syncDeferred?(reason: 'budget' | 'full'): void
  /** A sync reply went out: deltas (possibly none) or a full state, with its size. For metrics. */
  syncReplied?(kind: 'deltas' | 'full', bytes: number): void
}

export class SyncServer {
  private lastFullReplyAt = Number.NEGATIVE_INFINITY
  /** The sync-reply byte budget (token bucket) and when it was last topped up. */
  private syncTokens = Number.POSITIVE_INFINITY
  private syncTokensAt = 0

  constructor(
    private readonly rep: Replica,
    private readonly L: CrdtLimits,
    private readonly log: DeltaLog,
    private readonly hooks: SyncReplyHooks,
    private readonly nowMs: () => number,
  ) {}

  /**
   * Exactly what a peer with context `peer` lacks: logged deltas in causal order, or
   * full state. Full state is costly (megabytes at 10,000 targets), so at most one goes
   * out per fullReplyMinIntervalMs; a request past that gets an empty reply and the
   * asker tries again (it still holds its gap) with another peer or a little later.
   * The caller ships pending local deltas first, so the reply reaches our latest dots.
   */
  reply(peer: CausalContext, only?: ReadonlySet<ReplicaId>): Uint8Array {
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
      out = encodeFull(Tag.SyncReplyFull, this.rep.state)
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
}
