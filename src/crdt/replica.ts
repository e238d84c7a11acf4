/**
 * One replica of a causal dot store: the state, the local replica id, and the
 * two ways state changes — a local mutation (which yields a delta to ship) and
 * a join of a remote delta or full state. Views (registry-map, health-map,
 * and the tests' kv-map) read and mutate through it; anti-entropy decides
 * *when* a remote delta may be joined.
 */
import type { ReplicaId } from './causal-context.ts'
import { DeltaBuilder, type CausalState, type Delta, type Entry, emptyState, joinInto } from './dot-store.ts'

export class Replica {
  state: CausalState = emptyState()

  constructor(public self: ReplicaId) {}

  entries(key: string): Entry[] {
    return this.state.store.get(key) ?? []
  }

  /** Runs `fn` against a delta builder, joins the delta locally and returns it (null if nothing was written). */
  mutate(fn: (b: DeltaBuilder) => void): Delta | null {
    let next = this.state.ctx.top(this.self)
    const b = new DeltaBuilder(this.self, () => ++next)
    fn(b)
    const d = b.build()
    if (d) joinInto(this.state, d, false)
    return d
  }

  /** Joins a delta (already checked for causal safety); returns changed keys. */
  applyDelta(d: CausalState): Set<string> {
    return joinInto(this.state, d, false)
  }

  /** Joins a full remote state; returns changed keys. */
  mergeFull(o: CausalState): Set<string> {
    return joinInto(this.state, o, true)
  }

  /** Keys under a prefix, with the prefix stripped. */
  *keys(prefix: string): Iterable<string> {
    for (const k of this.state.store.keys()) if (k.startsWith(prefix)) yield k.slice(prefix.length)
  }
}
