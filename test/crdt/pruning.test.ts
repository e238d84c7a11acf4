/** Dead replicas and old incarnations are re-minted by an heir, then folded away: metadata stays bounded. */
import { describe, expect, test } from 'bun:test'
import { Tag } from '../../src/crdt/codec.ts'
import { type Delta, cloneState } from '../../src/crdt/dot-store.ts'
import { liveReplicas } from '../../src/crdt/pruning.ts'
import { replicaIdFor, nodeOfReplica, incarnationOf } from '../../src/crdt/replica-id.ts'
import { SimClock } from '../sim/sim-clock.ts'
import { counterOf, hex, mkReplica } from './helpers.ts'
import type { TestState } from './test-state.ts'

function fullSync(xs: TestState[]) {
  for (const a of xs) for (const b of xs) if (a !== b) a.ae.mergeFull(cloneState(b.state))
}
function digests(xs: TestState[]) {
  for (const a of xs) for (const b of xs) if (a !== b) a.ae.applyMessage(b.nodeName, b.ae.digest(Tag.Digest))
}

describe('replica ids', () => {
  test('persisted ids are reused; without a store each start is a new incarnation of the same node', () => {
    const clock = new SimClock()
    let saved: string | undefined
    const store = { load: () => saved, save: (id: string) => (saved = id) }
    const id1 = replicaIdFor('web-1', clock, store)
    clock.advance(5000)
    expect(replicaIdFor('web-1', clock, store)).toBe(id1)
    const fresh = replicaIdFor('web-1', clock)
    expect(fresh).not.toBe(id1)
    expect(nodeOfReplica(fresh)).toBe('web-1')
    expect(incarnationOf(fresh)).toBeGreaterThan(incarnationOf(id1))
    expect(replicaIdFor('web-2', clock, store)).not.toBe(id1) // a store from another node is not adopted
  })

  test('a newer incarnation supersedes older ones of the same node at once', () => {
    const a = mkReplica('a').rs
    for (const r of ['n#1', 'n#2', 'm#5']) a.state.ctx.add(r, 1)
    expect([...liveReplicas(a.state.ctx, a.replicaId, ['a', 'n', 'm'])].sort()).toEqual(['a#1', 'm#5', 'n#2'])
    expect([...liveReplicas(a.state.ctx, a.replicaId, ['a', 'n'])].sort()).toEqual(['a#1', 'n#2'])
  })
})

describe('pruning', () => {
  test('a dead replica is re-minted by the heir, then folded once every live peer has seen all its dots', () => {
    const clock = new SimClock()
    const late: Delta[] = []
    const L = { foldAfterMs: 10_000 }
    const a = mkReplica('a', clock, L).rs
    const b = mkReplica('b', clock, L).rs
    const cc = mkReplica('c', clock, L, late)
    const c = cc.rs
    c.putTarget('c', 't1', { url: 'x' })
    c.observe('t1', { status: 'up', since: 0, last: 0, term: 1, owner: 'c' })
    fullSync([a, b, c])
    const lagging = cloneState(b.state) // a peer that will not hear of the pruning
    expect(a.state.ctx.replicas()).toEqual(['c#1'])
    // c dies. a is the heir (smallest live id) and re-mints its registry entry; b is not and does not.
    // Health records are registers: c's goes when its successor takes the target over (a higher term).
    expect(a.pruneReplicas(['a', 'b']).reminted).toBe(1)
    expect(b.pruneReplicas(['a', 'b']).reminted).toBe(0)
    expect(a.pruneReplicas(['a', 'b']).folded).toEqual([]) // not dead long enough yet
    b.observe('t1', { status: 'up', since: 0, last: 5, term: 2, owner: 'b' }) // the takeover
    fullSync([a, b])
    digests([a, b])
    clock.advance(10_000)
    expect(a.pruneReplicas(['a', 'b']).folded).toEqual(['c#1'])
    expect(b.pruneReplicas(['a', 'b']).folded).toEqual(['c#1'])
    for (const x of [a, b]) {
      expect(x.state.ctx.replicas()).toEqual(['a#1', 'b#1']) // the heir's re-minted dots, the successor's record
      expect(x.target('t1')?.contributors).toEqual(['c'])
      expect(x.health('t1')?.status).toBe('up')
    }
    // Digests carry the fold markers: a peer that folded c is not sent c's history again.
    const lone = mkReplica('d', clock, L).rs
    lone.ae.mergeFull(cloneState(b.state))
    const ask = lone.ae.applyMessage('b', b.ae.digest(Tag.Digest))
    expect(ask?.tag).toBe(Tag.Digest)
    expect(b.ae.applyMessage('a', a.ae.syncReply(b.state.ctx))?.tag).toBe(Tag.SyncReplyDeltas)
    expect(lone.state.ctx.foldedReplicas().get('c#1')).toBe(2) // adopted from b's full state
    const viaWire = mkReplica('e', clock, L).rs
    expect(viaWire.ae.applyMessage('a', a.ae.fullState(Tag.Full))?.tag).toBe(Tag.Full)
    expect(viaWire.state.ctx.foldedReplicas().get('c#1')).toBe(2) // markers travel on the wire too
    expect(viaWire.state.ctx.replicas()).toEqual(['a#1', 'b#1'])
    // A late delta of c, or a full state from a peer that never folded it, changes nothing.
    const before = hex(a.state)
    for (const d of late) expect(a.ae.receiveDelta(d)).toBe('duplicate')
    expect(a.ae.mergeFull(lagging)).toBe(true)
    expect(hex(a.state)).toBe(before)
    expect(counterOf(cc.metrics, 'rejected')).toBe(0)
    // Dots of c beyond the fold (the fold was early) revive its entry instead of being lost.
    c.kvPut('after', 1)
    expect(a.ae.receiveDelta(late[late.length - 1]!)).toBe('applied')
    expect(a.state.ctx.replicas()).toEqual(['a#1', 'b#1', 'c#1'])
    expect(a.kvGet('after')).toEqual([1])
    expect(a.target('t1')?.contributors).toEqual(['c'])
    // Fold markers expire.
    clock.advance(3_700_000)
    b.pruneReplicas(['a', 'b'])
    expect(b.state.ctx.foldedReplicas().size).toBe(0)
  })

  test('restarts without a data dir do not grow the context', () => {
    const clock = new SimClock()
    const b = mkReplica('b', clock, { foldAfterMs: 0 }).rs
    for (let i = 1; i <= 20; i++) {
      const a = mkReplica('a', clock, { foldAfterMs: 0 }, undefined, { replicaId: `a#${i}` }).rs
      fullSync([a, b])
      a.setContribution('a', ['t0', 't1', 't2'].map((id) => ({ id, def: { rev: i % 2 } })))
      fullSync([a, b])
      for (let k = 0; k < 2; k++) {
        a.pruneReplicas(['a', 'b'])
        b.pruneReplicas(['a', 'b'])
        fullSync([a, b])
        digests([a, b])
      }
      expect(b.state.ctx.entries).toBeLessThanOrEqual(2)
    }
    expect(b.state.ctx.replicas()).toEqual(['a#20'])
    expect([...b.targets().keys()].sort()).toEqual(['t0', 't1', 't2'])
  })
})
