import { describe, expect, test } from 'bun:test'
import { SeededRng } from '../../src/runtime/rng.ts'
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
    expect(hex(b.rep.state)).toBe(hex(a.rep.state))
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
      if (hex(b.rep.state) !== hex(a.rep.state)) throw new Error(`seed ${seed}: states differ`)
    }
  })
})
