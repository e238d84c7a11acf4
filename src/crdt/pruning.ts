/**
 * Pruning replicas that left or died (Akka Distributed Data's "pruning" of
 * removed nodes, simplified): a dead replica's context entry cannot simply be
 * dropped while any replica might still hold entries carrying its dots — they
 * would come back. So, in two steps:
 * 1. re-mint: one deterministic heir (the smallest live replica id) rewrites
 *    the dead replica's live entries under fresh dots of its own — an ordinary
 *    delta, so it spreads and joins like any write;
 * 2. fold: once it has been dead for foldAfterMs, this replica holds none of
 *    its entries and no recent peer digest shows dots of it we lack, the wire
 *    context entry is replaced by a local fold marker (same dots, counted as
 *    seen), dropped after foldedTtlMs. If its dots turn up again the marker is
 *    revived into an ordinary entry. No tombstone stays forever.
 */
import type { Clock } from '../seams/clock.ts'
import type { AntiEntropy } from './anti-entropy.ts'
import type { CausalContext, ReplicaId } from './causal-context.ts'
import type { DeltaBuilder, Entry } from './dot-store.ts'
import { isRegisterKey } from './health-map.ts'
import type { CrdtLimits } from './limits.ts'
import type { Replica } from './replica.ts'
import { incarnationOf, nodeOfReplica } from './replica-id.ts'

/** Replicas in `ctx` still alive: named live (by id or node name) and the newest incarnation of their node. */
export function liveReplicas(ctx: CausalContext, self: ReplicaId, live: Iterable<string>): Set<ReplicaId> {
  const names = new Set(live)
  const newest = new Map<string, ReplicaId>()
  for (const r of [...ctx.replicas(), self]) {
    const node = nodeOfReplica(r)
    const cur = newest.get(node)
    if (!cur || incarnationOf(r) > incarnationOf(cur) || (incarnationOf(r) === incarnationOf(cur) && r > cur)) newest.set(node, r)
  }
  const out = new Set<ReplicaId>([self])
  for (const r of ctx.replicas()) {
    if (r === self) continue
    if (nodeOfReplica(r) === nodeOfReplica(self)) continue // an older incarnation of this very node
    if ((names.has(r) || names.has(nodeOfReplica(r))) && newest.get(nodeOfReplica(r)) === r) out.add(r)
  }
  return out
}

/**
 * The entries (with their keys) whose dots belong to dead replicas: what the heir re-mints.
 * Register keys are left out: a copy could only replace the original by outranking it,
 * and a "dead" writer may be a live one the heir's member list has not caught up with,
 * whose next observation must not lose to a copy of its last. A dead owner's records go
 * when its successor writes (a takeover is a higher term); until then they hold the fold.
 */
export function deadEntries(rep: Replica, dead: Set<ReplicaId>): Array<[string, Entry]> {
  const out: Array<[string, Entry]> = []
  for (const [k, es] of rep.state.store) if (!isRegisterKey(k)) for (const e of es) if (dead.has(e.r)) out.push([k, e])
  return out
}

/** Rewrites entries under fresh local dots; one write per entry keeps a key's concurrent values apart. */
export function remint(b: DeltaBuilder, entries: Array<[string, Entry]>): void {
  for (const [k, e] of entries) b.write(k, [e], { v: e.v })
}

export function holdsDotsOf(rep: Replica, r: ReplicaId): boolean {
  for (const es of rep.state.store.values()) for (const e of es) if (e.r === r) return true
  return false
}

/**
 * True when no peer digest we hold (fresh or not) shows dots of r that we lack.
 * Together with foldAfterMs of death (Akka's maxPruningDissemination idea) this is
 * the fold condition; a fold that proves early is undone by revive(), never lost.
 */
export function noPeerIsAhead(
  r: ReplicaId,
  mine: CausalContext,
  peers: Map<string, { ctx: CausalContext; at: number }>,
  now: number,
  maxAgeMs: number,
): boolean {
  const top = mine.top(r)
  for (const rec of peers.values()) {
    if (now - rec.at > maxAgeMs) continue
    if (rec.ctx.top(r) > top) return false
  }
  return true
}

/** Runs both steps for one replica; ReplicatedState.pruneReplicas delegates here. */
export class Pruner {
  private deadSince = new Map<ReplicaId, number>()

  constructor(
    private readonly rep: Replica,
    private readonly ae: AntiEntropy,
    private readonly L: CrdtLimits,
    private readonly clock: Clock,
    private readonly nodeName: string,
    private readonly write: (fn: (b: DeltaBuilder) => unknown) => boolean,
  ) {}

  prune(live: Iterable<string>): { reminted: number; folded: string[] } {
    const liveList = [...live]
    const ctx = this.rep.state.ctx
    const alive = liveReplicas(ctx, this.rep.self, liveList)
    this.ae.setClusterSize(new Set(liveList.map(nodeOfReplica)).size)
    const dead = new Set(ctx.replicas().filter((r) => !alive.has(r)))
    let reminted = 0
    // The heir is the live node with the smallest name: every node agrees on it from the member list alone.
    const heir = [...new Set([...liveList.map(nodeOfReplica), this.nodeName])].sort()[0]
    if (dead.size > 0 && heir === this.nodeName) {
      const old = deadEntries(this.rep, dead)
      // In small deltas, like any batch, so they piggyback.
      for (let i = 0; i < old.length; i += this.L.maxKeysPerDelta) this.write((b) => remint(b, old.slice(i, i + this.L.maxKeysPerDelta)))
      reminted = old.length
    }
    const now = this.clock.monotonic()
    for (const r of [...this.deadSince.keys()]) if (!dead.has(r)) this.deadSince.delete(r)
    for (const r of dead) if (!this.deadSince.has(r)) this.deadSince.set(r, now)
    const folded: string[] = []
    for (const r of dead) {
      if (now - (this.deadSince.get(r) ?? now) < this.L.foldAfterMs) continue
      if (holdsDotsOf(this.rep, r) || this.ae.held.holds(r)) continue
      if (!noPeerIsAhead(r, ctx, this.ae.peers, now, this.L.peerDigestMaxAgeMs)) continue
      ctx.fold(r, ctx.top(r), Math.floor(this.clock.now()))
      this.ae.forget(r)
      this.deadSince.delete(r)
      folded.push(r)
    }
    // Markers expire by the wall time of the first fold, wherever it was made, so passing them on does not renew them.
    for (const [r, , at] of ctx.foldMarkers()) if (this.clock.now() - at > this.L.foldedTtlMs) ctx.unfold(r)
    return { reminted, folded }
  }
}
