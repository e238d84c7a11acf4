import { describe, expect, test } from 'bun:test'
import { Tag } from '../../src/crdt/codec.ts'
import { cloneState } from '../../src/crdt/dot-store.ts'
import type { ChangeEvent, ReplicatedState } from '../../src/crdt/replicated-state.ts'
import { SimClock } from '../sim/sim-clock.ts'
import { counterOf, hex, mkReplica } from './helpers.ts'
import type { TestState } from './test-state.ts'

/** Full-state exchange both ways (what a join push/pull does). */
function sync(a: TestState, b: TestState) {
  a.ae.mergeFull(cloneState(b.state))
  b.ae.mergeFull(cloneState(a.state))
}
const obs = (term: number, status: string, owner: string) => ({ status, since: 1, last: 2, term, owner })

/** A replica whose sync requests go to `peers` in memory (it joins them); `asked` lists whom it asked. */
function wiredReplica(name: string, clock: SimClock, peers: Record<string, ReplicatedState>) {
  const asked: string[] = []
  const request = async (to: string, payload: Uint8Array) => {
    asked.push(to)
    return peers[to]!.delegate().handleUserRequest!(name, payload)
  }
  const rs = mkReplica(name, clock, undefined, undefined, { request }).rs
  peers[name] = rs
  return { rs, asked }
}
/** Lets the in-memory request promises settle. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

describe('target registry (AWOR map with per-contributor entries)', () => {
  test("a node dropping a target from its file removes only its own contribution", () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    const b = mkReplica('b', clock).rs
    a.setContribution('a', [{ id: 't1', def: { url: 'x' } }])
    b.setContribution('b', [{ id: 't1', def: { url: 'x' } }, { id: 't2', def: { url: 'y' } }])
    sync(a, b)
    expect(a.target('t1')?.contributors).toEqual(['a', 'b'])
    a.setContribution('a', [])
    sync(a, b)
    expect([...b.targets().keys()].sort()).toEqual(['t1', 't2'])
    expect(b.target('t1')?.contributors).toEqual(['b'])
    b.setContribution('b', [{ id: 't2', def: { url: 'y' } }])
    sync(a, b)
    expect([...a.targets().keys()]).toEqual(['t2'])
    expect(hex(a.state)).toBe(hex(b.state))
  })

  test('an unchanged file mints nothing; a changed definition replaces only that contribution', () => {
    const a = mkReplica('a').rs
    expect(a.setContribution('a', [{ id: 't1', def: { url: 'x', n: [1] } }])).toBe(1)
    const before = a.state.ctx.top(a.replicaId)
    expect(a.setContribution('a', [{ id: 't1', def: { url: 'x', n: [1] } }])).toBe(0)
    expect(a.state.ctx.top(a.replicaId)).toBe(before)
    a.setContribution('a', [{ id: 't1', def: { url: 'z' } }])
    expect(a.target('t1')?.def).toEqual({ url: 'z' })
    expect(a.entries('r/t1').length).toBe(1)
  })

  test('removeTarget is cluster-wide for what it observed; a concurrent put survives (add wins)', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    const b = mkReplica('b', clock).rs
    a.putTarget('api', 't1', { url: 'x' })
    b.putTarget('b', 't1', { url: 'x' })
    sync(a, b)
    a.removeTarget('t1')
    sync(a, b)
    expect(b.target('t1')).toBeUndefined()
    a.putTarget('api', 't2', { url: 'a' })
    sync(a, b)
    a.removeTarget('t2')
    b.putTarget('b', 't2', { url: 'b' }) // concurrent with the remove
    sync(a, b)
    expect(a.target('t2')?.contributors).toEqual(['b'])
  })

  test('the last contribution going drops the health too; an earlier one does not', () => {
    const a = mkReplica('a').rs
    a.setContribution('a', [{ id: 't1', def: {} }])
    a.putTarget('api', 't1', {})
    a.observe('t1', obs(1, 'up', 'a'))
    a.setContribution('a', [])
    expect(a.health('t1')?.status).toBe('up')
    a.removeContribution('api', 't1')
    expect(a.target('t1')).toBeUndefined()
    expect(a.health('t1')).toBeUndefined()
  })

  test('removeTarget also drops its health observations', () => {
    const a = mkReplica('a').rs
    a.putTarget('api', 't1', {})
    a.observe('t1', obs(1, 'up', 'a'))
    a.removeTarget('t1')
    expect(a.health('t1')).toBeUndefined()
    expect(a.targets().size).toBe(0)
    // What is left of the health register is its tombstone: it outranks the observations it removed.
    expect(a.entries('h/t1').map((e) => (e.v as { o: unknown }).o)).toEqual([null])
    const b = mkReplica('b').rs
    b.putTarget('api', 't1', {})
    b.observe('t1', obs(1, 'up', 'a'))
    sync(a, b)
    expect(b.health('t1')).toBeUndefined()
  })
})

describe('health register map', () => {
  test('a new owner with a higher term fences out a stale former owner, even one whose clock runs ahead', () => {
    const fast = new SimClock(1_700_000_050_000) // 50 s ahead
    const slow = new SimClock()
    const old = mkReplica('old', fast).rs
    const neu = mkReplica('new', slow).rs
    old.observe('t', obs(1, 'up', 'old'))
    sync(old, neu)
    expect(neu.observe('t', obs(2, 'down', 'new'))).toBe(true)
    old.observe('t', obs(1, 'up', 'old')) // concurrent stale write, later HLC
    sync(old, neu)
    expect(old.health('t')?.status).toBe('down')
    expect(neu.health('t')?.status).toBe('down')
    // Having seen term 2, the stale owner's write is refused at the source.
    expect(old.observe('t', obs(1, 'up', 'old'))).toBe(false)
    expect(hex(old.state)).toBe(hex(neu.state))
  })

  test('same term: later HLC wins, then node name breaks ties', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    const b = mkReplica('b', clock).rs
    a.observe('t', obs(1, 'up', 'a'))
    b.observe('t', obs(1, 'down', 'b')) // same wall ms, same logical counter: 'b' > 'a'
    sync(a, b)
    expect(a.health('t')?.status).toBe('down')
    expect(a.entries('h/t').length).toBe(1) // a register: only the winner is kept
    clock.advance(5)
    a.observe('t', obs(1, 'up', 'a'))
    sync(a, b)
    expect(b.health('t')?.status).toBe('up')
    expect(b.entries('h/t').length).toBe(1)
  })
})

describe('change stream', () => {
  test('local and remote changes are streamed once each', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    const b = mkReplica('b', clock).rs
    const seen: ChangeEvent[] = []
    b.onChange((e) => seen.push(e))
    a.putTarget('api', 't1', { url: 'x' })
    a.observe('t1', obs(1, 'up', 'a'))
    b.ae.mergeFull(cloneState(a.state))
    b.ae.mergeFull(cloneState(a.state))
    expect(seen.map((e) => `${e.kind}:${e.id}`).sort()).toEqual(['health:t1', 'target:t1'])
    b.removeTarget('t1')
    expect(seen.slice(2).map((e) => `${e.kind}:${e.id}:${e.kind === 'target' ? e.target : e.health}`).sort()).toEqual([
      'health:t1:undefined',
      'target:t1:undefined',
    ])
  })
})

describe('persistence', () => {
  test('snapshot/restore keeps the replica id and its counters, so no dot is reused', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    a.putTarget('api', 't1', { url: 'x' })
    a.observe('t1', obs(1, 'up', 'a'))
    const snap = a.snapshot()
    const a2 = mkReplica('a', clock).rs
    expect(a2.restore(snap)).toBe(true)
    expect(hex(a2.state)).toBe(hex(a.state))
    a2.putTarget('api', 't2', {})
    expect(a2.entries('r/t2')[0]?.n).toBe(3)
    expect(a2.restore(new Uint8Array([1, 2, 3]))).toBe(false)
  })

  test('a stale snapshot (peers hold newer dots of our id) makes the replica re-incarnate, not reuse dots', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    const b = mkReplica('b', clock).rs
    a.putTarget('api', 't1', {})
    const stale = a.snapshot()
    a.putTarget('api', 't2', {})
    sync(a, b)
    const a2 = mkReplica('a', clock).rs
    a2.restore(stale)
    clock.advance(1000)
    expect(a2.ae.mergeFull(cloneState(b.state))).toBe(true)
    expect(a2.replicaId).not.toBe('a#1')
    expect(a2.target('t2')).toBeDefined() // the newer write of the old id came back from the peer
    a2.putTarget('api', 't3', {})
    sync(a2, b)
    expect([...b.targets().keys()].sort()).toEqual(['t1', 't2', 't3'])
  })
})

describe('gossip delegate', () => {
  test('piggybacked deltas fit the byte budget and reach the peer', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock)
    const b = mkReplica('b', clock)
    for (let i = 0; i < 50; i++) a.rs.observe(`t${i}`, obs(1, 'up', 'a'))
    const da = a.rs.delegate()
    const db = b.rs.delegate()
    for (let round = 0; round < 40; round++) {
      const msgs = da.getBroadcasts(3, 1200)
      expect(msgs.reduce((s, m) => s + m.byteLength + 3, 0)).toBeLessThanOrEqual(1200)
      for (const m of msgs) db.notifyMsg('a', m)
    }
    expect(b.rs.allHealth().size).toBe(50)
    expect(a.rs.ae.queue.length).toBe(0) // every delta sent its quota, then left the queue
    a.rs.putTarget('api', 'huge', { blob: 'x'.repeat(5000) })
    expect(da.getBroadcasts(3, 1200)).toEqual([])
    expect(a.rs.ae.queue.length).toBe(0) // too big for any packet: left to push/pull
    expect(counterOf(b.metrics, 'applied')).toBe(7) // 50 writes in one instant, grouped 8 keys per delta
    expect(b.metrics.render()).toContain('heck_crdt_bytes_total{direction="in",kind="delta"}')
  })

  test('push/pull: join ships full state; later only digests, then each side pulls exactly what it lacks', async () => {
    const clock = new SimClock()
    const peers: Record<string, ReplicatedState> = {}
    const a = wiredReplica('a', clock, peers).rs
    const b = wiredReplica('b', clock, peers).rs
    a.putTarget('api', 't1', {})
    const join = a.delegate().localState(true)
    b.delegate().mergeRemoteState('a', join, true)
    expect(b.target('t1')).toBeDefined()
    a.putTarget('api', 't2', {})
    b.putTarget('api', 't3', {})
    const sa = a.delegate().localState(false)
    const sb = b.delegate().localState(false)
    expect(sa.byteLength).toBeLessThan(40) // a digest, not the state
    a.delegate().mergeRemoteState('b', sb, false)
    b.delegate().mergeRemoteState('a', sa, false)
    for (let i = 0; i < 10; i++) await Promise.resolve() // settle the in-memory request promises
    expect(hex(a.state)).toBe(hex(b.state))
    expect([...a.targets().keys()].sort()).toEqual(['t1', 't2', 't3'])
  })

  test('a held gap is pulled from its origin in turn with the sender: its log has it when the relay does not', async () => {
    const clock = new SimClock()
    const captured: import('../../src/crdt/dot-store.ts').Delta[] = []
    const a = mkReplica('a', clock, { localBatchMs: 0 }, captured).rs
    const r = mkReplica('r', clock).rs
    const { rs: x, asked } = wiredReplica('x', clock, { a, r })
    a.kvPut('k1', 1)
    a.kvPut('k1', 2)
    // The relay r never saw the first delta; x gets the second one (which removes the first) from r, so it must hold it.
    const { encodeDelta } = await import('../../src/crdt/codec.ts')
    const dx = x.delegate()
    dx.notifyMsg('r', encodeDelta(captured[1]!))
    expect(x.ae.held.size).toBe(1)
    await settle()
    expect(asked).toEqual(['r']) // the sender first: it cannot help
    expect(x.ae.held.size).toBe(1)
    clock.advance(x.limits.heldPullIntervalMs)
    dx.notifyMsg('r', encodeDelta(captured[1]!)) // a retransmit: still held, time to pull again
    await settle()
    expect(asked).toEqual(['r', 'a'])
    expect(x.ae.held.size).toBe(0)
    expect(x.kvGet('k1')).toEqual([2])
    expect(hex(x.state)).toBe(hex(a.state))
  })

  test('a status change grouped with a write that must wait is pulled from its origin at once', async () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    const shipped = () => a.ae.log.since(a.replicaId, 0).map((l) => l.delta) // grouped, as they go out
    const { rs: x, asked } = wiredReplica('x', clock, { a })
    const { encodeDelta } = await import('../../src/crdt/codec.ts')
    const dx = x.delegate()
    a.observe('t1', obs(1, 'healthy', 'a'))
    a.ae.flushLocal()
    dx.notifyMsg('a', encodeDelta(shipped()[0]!))
    clock.advance(5000) // the ordinary gap pull is due again, so it must not be what helps below
    a.putTarget('api', 't9', {})
    a.ae.flushLocal() // lost on the way to x
    a.removeTarget('t9') // removes the entry x never saw: x must wait for it
    a.observe('t1', obs(1, 'unhealthy', 'a')) // grouped with the removal
    a.ae.flushLocal()
    expect(shipped().map((d) => [...d.store.keys()])).toEqual([['h/t1'], ['r/t9'], ['r/t9', 'h/t1']])
    dx.notifyMsg('r', encodeDelta(shipped()[2]!)) // relayed by r, who cannot help
    await settle()
    expect(asked).toContain('a')
    expect(x.health('t1')?.status).toBe('unhealthy')
    expect(x.ae.held.size).toBe(0)
    expect(hex(x.state)).toBe(hex(a.state))
  })

  test('a lost delta shows as a hole once a later one joins, and is pulled from its origin', async () => {
    const clock = new SimClock()
    const captured: import('../../src/crdt/dot-store.ts').Delta[] = []
    const a = mkReplica('a', clock, { localBatchMs: 0 }, captured).rs
    const { rs: x, asked } = wiredReplica('x', clock, { a })
    const { encodeDelta } = await import('../../src/crdt/codec.ts')
    const dx = x.delegate()
    a.observe('t1', obs(1, 'healthy', 'a')) // lost on the way to x
    a.observe('t2', obs(1, 'healthy', 'a'))
    dx.notifyMsg('r', encodeDelta(captured[1]!)) // joined at once: a register depends on nothing
    expect(x.health('t2')?.status).toBe('healthy')
    expect([...x.ae.gaps()]).toEqual([a.replicaId])
    await settle()
    clock.advance(x.limits.heldPullIntervalMs)
    dx.notifyMsg('r', encodeDelta(captured[1]!)) // a retransmit: the sender's turn was first, now the origin's
    await settle()
    expect(asked).toEqual(['r', 'a'])
    expect(x.health('t1')?.status).toBe('healthy')
    expect(x.ae.gaps().size).toBe(0)
    expect(hex(x.state)).toBe(hex(a.state))
  })

  test('a status change pulled in a sync reply is relayed ahead of the queue; a refresh pulled so is not', async () => {
    const { Tag, decodeMessage } = await import('../../src/crdt/codec.ts')
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    const x = mkReplica('x', clock).rs
    const got = (n: number) => decodeMessage(x.ae.takeBroadcasts(0, 1 << 20)[0] ?? new Uint8Array(), x.limits).ok === (n > 0)
    a.observe('t1', obs(1, 'healthy', 'a'))
    sync(a, x)
    clock.advance(10)
    a.observe('t1', { ...obs(1, 'healthy', 'a'), last: 3 }) // a refresh
    x.ae.applyMessage('a', a.ae.syncReply(x.state.ctx))
    expect(x.ae.queue.length).toBe(0) // pulled, not news: not relayed
    clock.advance(10)
    a.observe('t1', obs(1, 'unhealthy', 'a'))
    const reply = a.ae.syncReply(x.state.ctx)
    expect(decodeMessage(reply, a.limits).ok && (decodeMessage(reply, a.limits) as { msg: { tag: number } }).msg.tag).toBe(Tag.SyncReplyDeltas)
    x.ae.applyMessage('a', reply)
    expect(x.health('t1')?.status).toBe('unhealthy')
    expect(x.ae.queue.length).toBe(1)
    expect(got(1)).toBe(true)
  })

  test('a change that names its former status is news even where that status never arrived', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    const x = mkReplica('x', clock).rs
    let asked = 0
    x.delegate().attach?.({ gossipSoon: () => asked++ })
    a.observe('t1', { ...obs(1, 'unhealthy', 'a'), since: clock.now(), was: 'healthy' })
    for (const m of a.ae.takeBroadcasts(0, 1 << 20)) x.ae.receive('a', m)
    expect(x.health('t1')?.status).toBe('unhealthy')
    expect(asked).toBe(1)
    a.observe('t2', obs(1, 'healthy', 'a')) // a first verdict: not news
    for (const m of a.ae.takeBroadcasts(0, 1 << 20)) x.ae.receive('a', m)
    expect(asked).toBe(1)
    a.observe('t3', { ...obs(1, 'unhealthy', 'a'), since: clock.now() - 3_600_000, was: 'healthy' }) // an old change a repair brings: not news
    for (const m of a.ae.takeBroadcasts(0, 1 << 20)) x.ae.receive('a', m)
    expect(x.health('t3')?.status).toBe('unhealthy')
    expect(asked).toBe(1)
  })

  test('a status change does not wait for its origin\'s unrelated deltas', async () => {
    const clock = new SimClock()
    const captured: import('../../src/crdt/dot-store.ts').Delta[] = []
    const a = mkReplica('a', clock, { localBatchMs: 0 }, captured).rs
    const x = mkReplica('x', clock).rs
    a.observe('t1', obs(1, 'healthy', 'a'))
    expect(x.ae.receiveDelta(captured[0]!)).toBe('applied')
    for (let i = 0; i < 50; i++) a.putTarget('file', `u${i}`, { i }) // a start-up's writes, all lost on the way to x
    a.observe('t1', obs(1, 'unhealthy', 'a'))
    expect(x.ae.receiveDelta(captured.at(-1)!)).toBe('applied')
    expect(x.health('t1')?.status).toBe('unhealthy')
    // The lost deltas still arrive later, in any order, and the states agree.
    for (const d of captured.slice(1, -1).reverse()) expect(x.ae.receiveDelta(d)).toBe('applied')
    expect(hex(x.state)).toBe(hex(a.state))
    expect(x.state.ctx.exceptionCount()).toBe(0)
  })

  test('a takeover over a record this replica never saw is joined at once; the late record then loses', async () => {
    const clock = new SimClock()
    const fromO: import('../../src/crdt/dot-store.ts').Delta[] = []
    const fromP: import('../../src/crdt/dot-store.ts').Delta[] = []
    const o = mkReplica('o', clock, { localBatchMs: 0 }, fromO).rs
    const p = mkReplica('p', clock, { localBatchMs: 0 }, fromP).rs
    const { rs: x, asked } = wiredReplica('x', clock, { o, p })
    const { encodeDelta } = await import('../../src/crdt/codec.ts')
    const dx = x.delegate()
    o.observe('t1', obs(1, 'healthy', 'o'))
    dx.notifyMsg('o', encodeDelta(fromO[0]!))
    p.ae.receiveDelta(fromO[0]!)
    clock.advance(10)
    o.observe('t1', { ...obs(1, 'healthy', 'o'), last: 3 }) // a refresh x has not got yet
    p.ae.receiveDelta(fromO[1]!)
    clock.advance(5000)
    p.observe('t1', obs(2, 'unhealthy', 'p')) // p takes over with a higher term
    dx.notifyMsg('p', encodeDelta(fromP[0]!))
    expect(x.ae.held.size).toBe(0)
    expect(x.health('t1')?.status).toBe('unhealthy')
    await settle()
    expect(asked).toEqual([]) // nothing held, nothing to pull
    expect(x.ae.receiveDelta(fromO[1]!)).toBe('applied') // the refresh turns up late: fenced out by the term
    expect(x.health('t1')?.status).toBe('unhealthy')
    expect(hex(x.state)).toBe(hex(p.state))
  })

  test('sync reply: deltas for what the digest lacks; full state for a new peer or past the log', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock, { maxLogPerOrigin: 4, localBatchMs: 0 }).rs
    const b = mkReplica('b').rs
    a.putTarget('api', 't1', {})
    expect(a.ae.applyMessage('b', a.ae.syncReply(b.state.ctx))?.tag).toBe(Tag.SyncReplyFull)
    b.ae.mergeFull(cloneState(a.state))
    a.putTarget('api', 't2', {})
    const reply = a.ae.syncReply(b.state.ctx)
    const m = b.ae.applyMessage('a', reply)
    expect(m?.tag).toBe(Tag.SyncReplyDeltas)
    expect(m?.tag === Tag.SyncReplyDeltas && m.deltas.length).toBe(1)
    for (let i = 0; i < 10; i++) a.putTarget('api', `u${i}`, {})
    // Past the log: full state, but not twice within fullReplyMinIntervalMs; meanwhile what the log holds.
    const early = b.ae.applyMessage('a', a.ae.syncReply(b.state.ctx))
    expect(early?.tag === Tag.SyncReplyDeltas && early.deltas.map((d) => d.lo)).toEqual([9, 10, 11, 12])
    clock.advance(a.limits.fullReplyMinIntervalMs)
    expect(b.ae.applyMessage('a', a.ae.syncReply(b.state.ctx))?.tag).toBe(Tag.SyncReplyFull)
    expect(hex(a.state)).toBe(hex(b.state))
  })

  test('a partial sync never deletes a live key', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    const b = mkReplica('b', clock).rs
    a.kvPut('live', 1)
    a.kvPut('gone', 1)
    sync(a, b)
    a.kvRemove('gone')
    b.kvPut('mine', 2) // b has something a lacks
    const m = b.ae.applyMessage('a', a.ae.syncReply(b.state.ctx))
    expect(m?.tag).toBe(Tag.SyncReplyDeltas)
    expect(b.kvGet('live')).toEqual([1])
    expect(b.kvGet('mine')).toEqual([2])
    expect(b.kvGet('gone')).toEqual([])
  })
})

describe('urgent dissemination hook', () => {
  test('a status change asks for a gossip round, locally and where its delta lands; first verdicts and refreshes do not', () => {
    const clock = new SimClock()
    const a = mkReplica('a', clock).rs
    const b = mkReplica('b', clock).rs
    const asked = { a: 0, b: 0 }
    a.delegate().attach?.({ gossipSoon: () => asked.a++ })
    b.delegate().attach?.({ gossipSoon: () => asked.b++ })
    const relay = () => {
      for (const bytes of a.ae.takeBroadcasts(0, 1 << 20)) b.ae.receive('a', bytes)
    }
    a.observe('t1', obs(1, 'healthy', 'a'))
    relay()
    expect(asked).toEqual({ a: 0, b: 0 }) // first verdict
    clock.advance(10)
    a.observe('t1', { ...obs(1, 'healthy', 'a'), last: 3 })
    relay()
    expect(asked).toEqual({ a: 0, b: 0 }) // refresh, same status
    clock.advance(10)
    a.observe('t1', obs(1, 'unhealthy', 'a'))
    expect(asked.a).toBe(1)
    relay()
    expect(b.health('t1')?.status).toBe('unhealthy')
    expect(asked.b).toBe(1)
  })
})
