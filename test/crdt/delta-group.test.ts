import { describe, expect, test } from 'bun:test'
import { SeededRng } from '../../src/seams/rng.ts'
import { SimClock } from '../sim/sim-clock.ts'
import { hex, mkReplica } from './helpers.ts'

describe('delta groups (local deltas shipped together)', () => {
  test('a removal inside a group still reaches a peer that holds the key', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    const b = mkReplica('b', clock).rs
    a.kvPut('x', 1)
    for (const m of a.ae.takeBroadcasts(0, 1 << 20)) b.ae.receive('a', m)
    expect(b.kvGet('x')).toEqual([1])
    while (a.ae.queue.length > 0) a.ae.takeBroadcasts(0, 1 << 20) // its retransmits
    a.kvRemove('x')
    a.kvPut('y', 2)
    const msgs = a.ae.takeBroadcasts(0, 1 << 20)
    expect(msgs.length).toBe(1) // both writes in one delta
    for (const m of msgs) b.ae.receive('a', m)
    expect(b.kvGet('x')).toEqual([])
    expect(b.kvGet('y')).toEqual([2])
    expect(hex(b.state)).toBe(hex(a.state))
  })

  test('bursts flush on their own after localBatchMs, and at most maxKeysPerDelta keys go in one delta', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    for (let i = 0; i < 3; i++) a.observe(`t${i}`, { status: 'healthy', since: 0, last: 0, term: 1, owner: 'a' })
    expect(a.ae.queue.length).toBe(0)
    clock.advance(a.limits.localBatchMs)
    expect(a.ae.queue.length).toBe(1)
    for (let i = 0; i < 20; i++) a.observe(`u${i}`, { status: 'healthy', since: 0, last: 0, term: 1, owner: 'a' })
    expect(a.ae.queue.length).toBe(1 + 2) // two full groups of 8 shipped at once; 4 keys still pending
    clock.advance(a.limits.localBatchMs)
    expect(a.ae.queue.length).toBe(4)
  })

  test('every shipped delta fits maxDeltaBytes, whatever the size of the values (so it fits a gossip packet)', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    const b = mkReplica('b', clock).rs
    a.setContribution('a', Array.from({ length: 200 }, (_, i) => ({ id: `t${i}`, def: { url: `http://10.0.0.1/${'p'.repeat(i % 150)}`, interval: '1s' } })))
    for (let i = 0; i < 200; i++) a.observe(`t${i}`, { status: 'healthy', since: 1, last: 2, term: 1, owner: 'a', message: 'x'.repeat(i % 120) })
    const sizes: number[] = []
    for (let round = 0; round < 100; round++) {
      const msgs = a.ae.takeBroadcasts(0, 1 << 20)
      if (msgs.length === 0) break
      for (const m of msgs) {
        sizes.push(m.byteLength)
        b.ae.receive('a', m)
      }
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(a.limits.maxDeltaBytes)
    expect(sizes.length).toBeGreaterThan(40) // grouped, but not into a few huge ones
    expect(hex(b.state)).toBe(hex(a.state))
  })

  test('random bursts shipped as groups, delivered in order at random moments, give the same state (200 seeds)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rng = new SeededRng(seed)
      const clock = new SimClock()
      const a = mkReplica('a', clock).rs
      const b = mkReplica('b', clock).rs
      for (let step = 0; step < 60; step++) {
        const k = `k${rng.int(6)}`
        const op = rng.int(4)
        if (op === 0) a.kvRemove(k)
        else if (op === 1) a.observe(k, { status: rng.int(2) ? 'healthy' : 'unhealthy', since: 0, last: step, term: rng.int(3), owner: 'a' })
        else a.kvPut(k, step)
        if (rng.int(3) === 0) clock.advance(rng.int(2 * a.limits.localBatchMs))
        if (rng.int(4) === 0) for (const m of a.ae.takeBroadcasts(0, 1 << 20)) b.ae.receive('a', m)
      }
      for (const m of a.ae.takeBroadcasts(0, 1 << 20)) b.ae.receive('a', m)
      if (hex(b.state) !== hex(a.state)) throw new Error(`seed ${seed}: states differ`)
    }
  })
})

describe('sync replies', () => {
  test('a pull names the deltas it already holds: the reply carries only the gap, and stops at maxSyncReplyBytes', async () => {
    const { decodeMessage, Tag } = await import('../../src/crdt/codec.ts')
    const clock = new SimClock()
    const captured: import('../../src/crdt/dot-store.ts').Delta[] = []
    const a = mkReplica('a', clock, { localBatchMs: 0 }, captured).rs
    const b = mkReplica('b', clock).rs
    // Ten keys written twice: each second write removes the first, so it waits for it.
    for (let i = 0; i < 20; i++) a.kvPut(`k${i % 10}`, i)
    for (const d of captured.slice(0, 5)) expect(b.ae.receiveDelta(d)).toBe('applied')
    for (const d of captured.slice(10, 15)) expect(b.ae.receiveDelta(d)).toBe('applied') // k0..k4: their first writes are here
    for (const d of captured.slice(15)) expect(b.ae.receiveDelta(d)).toBe('held') // k5..k9: theirs are not
    const ask = decodeMessage(b.ae.syncRequest(), b.limits)
    if (!ask.ok || ask.msg.tag !== Tag.SyncRequest) throw new Error('bad request')
    const reply = decodeMessage(a.ae.syncReply(ask.msg.ctx), a.limits)
    if (!reply.ok || reply.msg.tag !== Tag.SyncReplyDeltas) throw new Error('expected deltas')
    expect(reply.msg.deltas.map((d) => d.lo)).toEqual([6, 7, 8, 9, 10])
    b.ae.applyMessage('a', a.ae.syncReply(ask.msg.ctx))
    expect(b.ae.held.size).toBe(0)
    expect(hex(b.state)).toBe(hex(a.state))
    // The byte cap: a peer 20 deltas behind gets a prefix, then the rest.
    const log2: import('../../src/crdt/dot-store.ts').Delta[] = []
    const src = mkReplica('src', clock, { localBatchMs: 0, maxSyncReplyBytes: 200 }, log2).rs
    const c = mkReplica('c', clock).rs
    src.kvPut('first', 0)
    expect(c.ae.receiveDelta(log2[0]!)).toBe('applied')
    for (let i = 0; i < 20; i++) src.kvPut(`m${i}`, i)
    let pulls = 0
    while (hex(c.state) !== hex(src.state) && pulls < 50) {
      const q = decodeMessage(c.ae.syncRequest(), c.limits)
      if (!q.ok || q.msg.tag !== Tag.SyncRequest) throw new Error('bad request')
      const r = decodeMessage(src.ae.syncReply(q.msg.ctx), src.limits)
      if (!r.ok || r.msg.tag !== Tag.SyncReplyDeltas) throw new Error('expected deltas')
      expect(r.msg.deltas.length).toBeGreaterThan(0)
      c.ae.applyMessage('src', src.ae.syncReply(q.msg.ctx))
      pulls++
    }
    expect(hex(c.state)).toBe(hex(src.state))
    expect(pulls).toBeGreaterThan(1)
  })
})

describe('sync reply budget', () => {
  test('past maxSyncReplyBytesPerS a node answers empty, and serves again once the budget refills', async () => {
    const { decodeMessage, Tag } = await import('../../src/crdt/codec.ts')
    const clock = new SimClock()
    const captured: import('../../src/crdt/dot-store.ts').Delta[] = []
    const a = mkReplica('a', clock, { localBatchMs: 0, maxSyncReplyBytesPerS: 100 }, captured).rs
    const b = mkReplica('b', clock).rs
    a.kvPut('first', 0)
    b.ae.receiveDelta(captured[0]!)
    for (let i = 0; i < 10; i++) a.kvPut(`k${i}`, 'x'.repeat(20))
    const deltasIn = (buf: Uint8Array) => {
      const r = decodeMessage(buf, a.limits)
      return r.ok && r.msg.tag === Tag.SyncReplyDeltas ? r.msg.deltas.length : -1
    }
    expect(deltasIn(a.ae.syncReply(b.state.ctx))).toBe(10) // overdraws the bucket once
    expect(deltasIn(a.ae.syncReply(b.state.ctx))).toBe(0) // in debt: an empty answer
    clock.advance(10_000)
    expect(deltasIn(a.ae.syncReply(b.state.ctx))).toBe(10)
  })
})

describe('targeted sync requests (a gap asked of its origin)', () => {
  test('the reply carries only the named origins, never full state; malformed origin lists are rejected', async () => {
    const { decodeMessage, Tag, encodeSyncRequestFor } = await import('../../src/crdt/codec.ts')
    const { CausalContext } = await import('../../src/crdt/causal-context.ts')
    const clock = new SimClock()
    const a = mkReplica('a', clock, { localBatchMs: 0 }).rs
    const c = mkReplica('c', clock, { localBatchMs: 0 }).rs
    const relay = mkReplica('r', clock).rs
    a.kvPut('ka', 1)
    c.kvPut('kc', 1)
    relay.ae.mergeFull({ ctx: a.state.ctx.clone(), store: new Map(a.state.store) })
    relay.ae.mergeFull({ ctx: c.state.ctx.clone(), store: new Map(c.state.store) })
    const fresh = new CausalContext() // knows nothing: an untargeted ask would get full state
    const ask = decodeMessage(encodeSyncRequestFor(fresh, [a.replicaId]), relay.limits)
    if (!ask.ok || ask.msg.tag !== Tag.SyncRequestFor) throw new Error('bad request')
    expect(ask.msg.origins).toEqual([a.replicaId])
    const reply = decodeMessage(relay.ae.syncReply(ask.msg.ctx, new Set(ask.msg.origins)), relay.limits)
    // The relay got a's state by full merge, so its log has nothing to give: an empty answer, not full state.
    expect(reply.ok && reply.msg.tag).toBe(Tag.SyncReplyDeltas)
    const fromOrigin = decodeMessage(a.ae.syncReply(ask.msg.ctx, new Set(ask.msg.origins)), a.limits)
    if (!fromOrigin.ok || fromOrigin.msg.tag !== Tag.SyncReplyDeltas) throw new Error('expected deltas')
    expect(fromOrigin.msg.deltas.map((d) => d.origin)).toEqual([a.replicaId])
    for (const bad of [[], [1], [''], ['x'.repeat(300)]]) {
      const buf = (await import('../../src/codec/cbor-write.ts')).encodeCbor([1, Tag.SyncRequestFor, [fresh.encode(), [], bad]])
      expect(decodeMessage(buf, a.limits).ok).toBe(false)
    }
  })
})

describe('a gap no log reaches', () => {
  test('gets what the logs have first, then a full state once they have nothing else for it (else the asker stays stuck)', async () => {
    const { decodeMessage, Tag } = await import('../../src/crdt/codec.ts')
    const clock = new SimClock()
    const capA: import('../../src/crdt/dot-store.ts').Delta[] = []
    const capB: import('../../src/crdt/dot-store.ts').Delta[] = []
    const a = mkReplica('a', clock, { localBatchMs: 0 }, capA).rs
    const b = mkReplica('b', clock, { localBatchMs: 0 }, capB).rs
    const relay = mkReplica('r', clock, { maxLogPerOrigin: 2 }).rs
    const x = mkReplica('x', clock).rs
    for (let i = 0; i < 6; i++) a.kvPut(`a${i}`, i)
    b.kvPut('b0', 0)
    for (const d of capA) relay.ae.receiveDelta(d) // relay's log keeps only a's last 2
    relay.ae.receiveDelta(capB[0]!)
    x.ae.receiveDelta(capA[0]!) // x has a's first; lacks a's 2..4, which no log of the relay reaches now
    b.kvPut('b1', 1)
    relay.ae.receiveDelta(capB[1]!)
    x.ae.receiveDelta(capB[0]!)
    // First what the log can give (b's news, a's last two): megabytes of full state can wait.
    const first = decodeMessage(relay.ae.syncReply(x.state.ctx), relay.limits)
    if (!first.ok || first.msg.tag !== Tag.SyncReplyDeltas) throw new Error('expected deltas')
    expect(first.msg.deltas.map((d) => `${d.origin.split('#')[0]}${d.lo}`).sort()).toEqual(['a5', 'a6', 'b2'])
    x.ae.applyMessage('r', relay.ae.syncReply(x.state.ctx))
    expect(x.kvGet('b1')).toEqual([1])
    expect(x.ae.gaps().has(a.replicaId)).toBe(true)
    // Then only the gap is left, and the relay's log has nothing for it: a full state.
    const r = decodeMessage(relay.ae.syncReply(x.state.ctx), relay.limits)
    expect(r.ok && r.msg.tag).toBe(Tag.SyncReplyFull)
    if (r.ok) x.ae.applyMessage('r', relay.ae.fullState(Tag.SyncReplyFull))
    expect(x.kvGet('a3')).toEqual([3])
    expect(x.ae.gaps().size).toBe(0)
    // Within the full-state interval the same ask gets what the log can give, not nothing.
    const again = decodeMessage(relay.ae.syncReply(mkReplica('y', clock).rs.state.ctx), relay.limits)
    expect(again.ok && again.msg.tag).toBe(Tag.SyncReplyDeltas)
  })
})
