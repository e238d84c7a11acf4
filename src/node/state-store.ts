/**
 * The cluster state one node reads and writes: the target registry and the
 * health map. In a cluster of one it is local (LocalState); in a cluster it is the
 * delta-CRDT replicated state. Either way the node talks to this interface only.
 */
import type { CheckResult, Status, Target } from '../config/types.ts'
import type { Incident } from '../alerts/incident.ts'
import type { FlapState } from '../alerts/flap.ts'

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
  /** The target's current or last incident, with what has been sent for it (alerts/incident.ts). */
  incident?: Incident
  /** Recent state changes, and since when it is flapping (alerts/flap.ts); with flap damping on. */
  flap?: FlapState
  /** The last confirmation asked for (confirm: N): who saw what, and what came of it. */
  confirmation?: Confirmation
}

/** A confirmation from other vantage points (SPEC.md "Alerts"). */
export interface Confirmation {
  at: number
  /** Node → what it saw: `fail`, `ok`, or `no answer`. */
  saw: Record<string, string>
  /** `confirmed` (N nodes saw it fail), `disagreed` (fewer did: the status stays), `too few` (fewer live nodes than N; confirmed with all there are). */
  outcome: 'confirmed' | 'disagreed' | 'too few'
}

export type StateChange =
  | { kind: 'target'; id: string; action: 'added' | 'updated' | 'removed' }
  | { kind: 'health'; id: string; record: HealthRecord; previous?: HealthRecord }
  | { kind: 'record'; recordKind: RecordKind; key: string }

/** Kinds of small replicated records kept beside the targets (last writer wins, by key). */
export type RecordKind = 'silence'

export interface StateStore {
  /** Replaces what `contributor`'s targets file says; only entries that changed since its last call are applied. */
  setFileTargets(contributor: string, targets: Target[]): void
  /**
   * Adds or replaces a target cluster-wide (the API); resolves true when one was replaced.
   * It resolves only once the write is as safe as the store promises (SPEC.md "What a 2xx
   * promises"): durable on this node with a data dir, or committed by etcd; the API's 2xx
   * waits for it. It rejects when the write cannot be made so (the 2xx is then a 503).
   */
  putTarget(t: Target): Promise<boolean>
  /** Removes a target cluster-wide; resolves false when there was none. Safe as putTarget. */
  removeTarget(id: string): Promise<boolean>
  targets(): Target[]
  target(id: string): Target | undefined
  observe(rec: HealthRecord): void
  health(id: string): HealthRecord | undefined
  /**
   * The highest ownership term a record of this target carried, a deleted one included
   * (0 if none): a target deleted and added again starts above it, or its deletion's
   * tombstone (which outranks the records it deleted) would fence out its new owner.
   */
  retiredTerm?(id: string): number
  allHealth(): HealthRecord[]
  /**
   * Writes (or, with null, deletes) a small replicated record, such as a silence; resolves
   * once it is as safe as a target write (the API's 2xx waits for it).
   */
  putRecord(kind: RecordKind, key: string, value: unknown): Promise<void>
  /** Every record of a kind, as this node holds them. */
  records(kind: RecordKind): Map<string, unknown>
  onChange(fn: (c: StateChange) => void): () => void
}

/** Listener bookkeeping shared by the stores. */
export class ChangeSource {
  private listeners = new Set<(c: StateChange) => void>()

  protected emit(c: StateChange): void {
    for (const fn of this.listeners) fn(c)
  }

  onChange(fn: (c: StateChange) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }
}

/**
 * What a contributor's targets file changed since its previous version: the entries
 * to write and the ids it no longer lists. Only these are applied, so a target the API
 * removed stays removed until the file's own entry for it changes.
 */
export class FileContributions {
  private last = new Map<string, Map<string, Target>>()

  /** Undefined on the first call for a contributor (then the file is its whole truth). */
  diff(contributor: string, targets: Target[]): { changed: Target[]; removed: string[] } | undefined {
    const before = this.last.get(contributor)
    const after = new Map(targets.map((t) => [t.id, t]))
    this.last.set(contributor, after)
    if (!before) return undefined
    const changed = targets.filter((t) => JSON.stringify(before.get(t.id)) !== JSON.stringify(t))
    const removed = [...before.keys()].filter((id) => !after.has(id))
    return { changed, removed }
  }
}

/**
 * The store cannot take a write now (etcd out of reach, or this node's lease lapsed):
 * the API answers 503 with this message, and nothing was acknowledged.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'
}
