/**
 * The cluster state one node reads and writes: the target registry and the
 * health map. In a cluster of one it is local (LocalState); in a cluster it is the
 * delta-CRDT replicated state. Either way the node talks to this interface only.
 */
import type { CheckResult, Status, Target } from '../config/types.ts'

/** A health observation as replicated: who wrote it, and in which ownership term. */
export interface HealthRecord {
  id: string
  status: Status
  since: number
  /** The node that owned (checked) the target when this was written. */
  owner: string
  last: CheckResult | null
  /** Ownership term of the writer; a takeover starts a higher one (fencing). */
  term: number
}

export type StateChange =
  | { kind: 'target'; id: string; action: 'added' | 'updated' | 'removed' }
  | { kind: 'health'; id: string; record: HealthRecord; previous?: HealthRecord }

export interface StateStore {
  /** Replaces what `contributor`'s targets file says; only entries that changed since its last call are applied. */
  setFileTargets(contributor: string, targets: Target[]): void
  /** Adds or replaces a target cluster-wide (the API); true when one was replaced. */
  putTarget(t: Target): boolean
  /** Removes a target cluster-wide; false when there was none. */
  removeTarget(id: string): boolean
  targets(): Target[]
  target(id: string): Target | undefined
  observe(rec: HealthRecord): void
  health(id: string): HealthRecord | undefined
  allHealth(): HealthRecord[]
  onChange(fn: (c: StateChange) => void): () => void
}
