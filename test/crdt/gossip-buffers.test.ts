/** The anti-entropy buffers never grow past their limits, whoever stops answering. */
import { describe, expect, test } from 'bun:test'
import { CausalContext } from '../../src/crdt/causal-context.ts'
import type { Delta } from '../../src/crdt/dot-store.ts'
import { BroadcastQueue, DeltaLog, HeldDeltas } from '../../src/crdt/gossip-buffers.ts'

const delta = (origin: string, lo: number, hi = lo): Delta => {
  const ctx = new CausalContext()
  ctx.addRange(origin, lo, hi)
  return { origin, lo, hi, ctx, store: new Map() }
}

describe('bounded buffers', () => {
  test('broadcast queue: capped, least-sent first, each payload sent its quota then dropped', () => {
    const q = new BroadcastQueue(10)
    for (let i = 0; i < 50; i++) q.push(`d${i}`, new Uint8Array(100), 3)
    expect(q.length).toBe(10)
    q.push('d49', new Uint8Array(100), 3) // already queued: ignored
    expect(q.length).toBe(10)
    let sent = 0
    for (let r = 0; r < 10; r++) sent += q.take(3, 520).length
    expect(sent).toBe(30)
    expect(q.length).toBe(0)
  })

  test('delta log: per-origin and byte caps; ranges answered only when the log reaches back far enough', () => {
    const log = new DeltaLog(5, 1000)
    for (let n = 1; n <= 20; n++) log.add(delta('a', n), 10)
    expect(log.range('a', 15, 20)?.map((d) => d.lo)).toEqual([16, 17, 18, 19, 20])
    expect(log.range('a', 10, 20)).toBeNull()
    for (let n = 1; n <= 200; n++) log.add(delta(`o${n}`, 1), 10)
    expect(log.bytes).toBeLessThanOrEqual(1000)
    log.add(delta('a', 40), 10) // a gap: the log for 'a' restarts
    expect(log.range('a', 39, 40)?.length).toBe(1)
    expect(log.range('a', 19, 40)).toBeNull()
  })

  test('held deltas: capped, oldest dropped first, released when ready', () => {
    const h = new HeldDeltas(3)
    expect(h.hold(delta('a', 5))).toBe(false)
    h.hold(delta('a', 6))
    h.hold(delta('a', 7))
    expect(h.hold(delta('a', 8))).toBe(true)
    expect(h.size).toBe(3)
    expect(h.takeReady((d) => d.lo >= 7).map((d) => d.lo)).toEqual([7, 8])
    expect(h.holds('a')).toBe(true)
    h.forget('a')
    expect(h.size).toBe(0)
  })
})
