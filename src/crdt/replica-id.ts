/**
 * Replica ids that do not pile up: causal metadata grows without bound when every
 * restart mints a new replica id (a pitfall Akka Distributed Data and Riak met).
 *
 * A replica id is `<node name>#<incarnation>`, the incarnation being the wall
 * time (ms, base 36) when it was minted.
 * - With a data dir: the id is persisted next to the state snapshot and reused
 *   on restart, together with the snapshot's counters, so a restart mints
 *   nothing new. (If the snapshot turns out to be stale — peers hold dots of
 *   ours newer than it — ReplicatedState re-incarnates rather than reuse them.)
 * - Without one: each start mints a new incarnation, but an id is never kept
 *   beyond its use: a newer incarnation of the same node name supersedes the
 *   older ones at once (a node cannot run twice), their live entries are
 *   re-minted by an heir and their context entry folded (pruning.ts). So the
 *   context holds about one entry per live node, whatever the churn.
 */
import type { Clock } from '../seams/clock.ts'

export interface ReplicaIdStore {
  load(): string | undefined
  save(id: string): void
}

export function mintReplicaId(nodeName: string, clock: Clock): string {
  return `${nodeName}#${Math.floor(clock.now()).toString(36)}`
}

/** The stable id for this node: the persisted one if it belongs to `nodeName`, else a fresh incarnation (saved). */
export function replicaIdFor(nodeName: string, clock: Clock, store?: ReplicaIdStore): string {
  const prev = store?.load()
  if (prev && nodeOfReplica(prev) === nodeName) return prev
  const id = mintReplicaId(nodeName, clock)
  store?.save(id)
  return id
}

export function nodeOfReplica(id: string): string {
  const i = id.lastIndexOf('#')
  return i < 0 ? id : id.slice(0, i)
}

export function incarnationOf(id: string): number {
  const i = id.lastIndexOf('#')
  if (i < 0) return 0
  const n = Number.parseInt(id.slice(i + 1), 36)
  return Number.isFinite(n) ? n : 0
}
