/**
 * The plain replicated key-value map: an add-wins map of multi-value registers
 * (Almeida et al. 2018, "ORMap of MVRegister"). `put` replaces every value it
 * has observed for the key; concurrent puts both survive until one side
 * overwrites them; `remove` drops only what it observed (add wins). It is the
 * test bed for the generic layer (only tests use it); the registry and health
 * maps refine it. Its key prefix lives in the codec, which accepts it on the wire.
 */
import { KV_PREFIX } from '../../src/crdt/codec.ts'
import type { DeltaBuilder } from '../../src/crdt/dot-store.ts'
import type { Replica } from '../../src/crdt/replica.ts'

export function kvPut(rep: Replica, b: DeltaBuilder, key: string, value: unknown): void {
  b.write(KV_PREFIX + key, rep.entries(KV_PREFIX + key), { v: value })
}

export function kvRemove(rep: Replica, b: DeltaBuilder, key: string): void {
  const seen = rep.entries(KV_PREFIX + key)
  if (seen.length > 0) b.write(KV_PREFIX + key, seen)
}

/** All concurrent values of a key, in dot order (empty if absent). */
export function kvGet(rep: Replica, key: string): unknown[] {
  return rep.entries(KV_PREFIX + key).map((e) => e.v)
}

export function kvKeys(rep: Replica): string[] {
  return [...rep.keys(KV_PREFIX)].sort()
}
