/**
 * Test-only: a ReplicatedState opened up for the tests (and benchmarks) that drive
 * its anti-entropy and read its causal state directly. Production code sees only
 * ReplicatedState's own methods; nothing under src/ may import this. It also
 * carries the generic key-value test bed (kv-map.ts), which only tests use.
 */
import type { AntiEntropy } from '../../src/crdt/anti-entropy.ts'
import type { CausalState, Entry } from '../../src/crdt/dot-store.ts'
import { ReplicatedState } from '../../src/crdt/replicated-state.ts'
import { kvGet, kvPut, kvRemove } from './kv-map.ts'

export class TestState extends ReplicatedState {
  /** Test-only: anti-entropy, for tests of delivery, holding and sync that bypass the wire. */
  declare readonly ae: AntiEntropy

  /** Test-only: the whole causal state (dot store and context), to compare, clone or merge. */
  get state(): CausalState {
    return this.rep.state
  }

  /** Test-only (benchmarks): replaces the causal state, to time merges into a given one. */
  set state(s: CausalState) {
    this.rep.state = s
  }

  /** Test-only: the entries stored under a full key (prefix included). */
  entries(key: string): Entry[] {
    return this.rep.entries(key)
  }

  // ---- the generic key-value test bed (multi-value registers, add wins) ----

  kvPut(key: string, value: unknown): boolean {
    return this.write((b) => kvPut(this.rep, b, key, value))
  }

  kvRemove(key: string): boolean {
    return this.write((b) => kvRemove(this.rep, b, key))
  }

  kvGet(key: string): unknown[] {
    return kvGet(this.rep, key)
  }
}
