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
import type { CausalContext, ReplicaId } from './causal-context.ts'
import type { DeltaBuilder, Entry } from './dot-store.ts'
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

/** The entries (with their keys) whose dots belong to dead replicas: what the heir re-mints. */
export function deadEntries(rep: Replica, dead: Set<ReplicaId>): Array<[string, Entry]> {
  const out: Array<[string, Entry]> = []
  for (const [k, es] of rep.state.store) for (const e of es) if (dead.has(e.r)) out.push([k, e])
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
