/** Shared helpers for CRDT tests: replicas on a SimClock, random histories, state equality. */
import { canonicalState } from '../../src/crdt/codec.ts'
import type { CausalState, Delta } from '../../src/crdt/dot-store.ts'
import type { SyncRequestFn } from '../../src/crdt/gossip-delegate.ts'
import type { CrdtLimits } from '../../src/crdt/limits.ts'
import { Registry } from '../../src/metrics/registry.ts'
import type { Rng } from '../../src/seams/rng.ts'
import { SimClock } from '../sim/sim-clock.ts'
import { TestState } from './test-state.ts'

/**
 * A replica named `name` (replica id `name#1` unless given), on `clock`; `captured`
 * collects every delta it mints, and `request` is its sync channel to peers.
 */
export function mkReplica(
  name: string,
  clock = new SimClock(),
  limits?: Partial<CrdtLimits>,
  captured?: Delta[],
  more: { replicaId?: string; request?: SyncRequestFn } = {},
) {
  const metrics = new Registry()
  const rs = new TestState({ replicaId: more.replicaId ?? `${name}#1`, nodeName: name, clock, metrics, limits, request: more.request })
  if (captured) {
    const local = rs.ae.local.bind(rs.ae)
    rs.ae.local = (d: Delta) => {
      captured.push(d)
      local(d)
    }
  }
  return { rs, metrics, clock }
}

export const same = (a: CausalState, b: CausalState) => Buffer.from(canonicalState(a)).equals(Buffer.from(canonicalState(b)))
export const hex = (s: CausalState) => Buffer.from(canonicalState(s)).toString('hex')

export const counterOf = (m: Registry, result: string) =>
  (m.counter('heck_gossip_deltas_total', '') as { get(l: Record<string, string>): number }).get({ result })

/** One random local mutation on `rs` drawn from all three views. */
export function randomOp(rs: TestState, rng: Rng, keys = 6): void {
  const k = `k${rng.int(keys)}`
  switch (rng.int(7)) {
    case 0:
      rs.kvPut(k, rng.int(100))
      break
    case 1:
      rs.kvRemove(k)
      break
    case 2:
      rs.putTarget(`c${rng.int(3)}`, k, { url: `http://${k}`, v: rng.int(4) })
      break
    case 3:
      rs.removeTarget(k)
      break
    case 4:
      rs.removeContribution(`c${rng.int(3)}`, k)
      break
    default:
      rs.observe(k, { status: rng.int(2) ? 'up' : 'down', since: 0, last: 0, term: rng.int(4), owner: rs.nodeName })
  }
}
