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

  test('broadcast queue: the least-sent go first, a packet never carries one payload twice, the newest lead among equals', () => {
    const q = new BroadcastQueue(100)
    const tag = (n: number) => {
      const b = new Uint8Array(100)
      b[0] = n
      return b
    }
    q.push('old', tag(1), 2)
    q.push('new', tag(2), 2)
    q.push('fresh', tag(3), 4)
    expect(q.take(0, 200).map((b) => b[0])).toEqual([3, 2]) // room for two: the fresh one, then the newest of the rest
    expect(q.take(0, 1000).map((b) => b[0])).toEqual([3, 1, 2]) // 3 has 3 left, then 1 (2 left), then 2 (1 left)
    const seen = q.take(0, 1000).map((b) => b[0])
    expect(new Set(seen).size).toBe(seen.length)
  })

  test('broadcast queue: a take over a backlog of thousands stays cheap', () => {
    const q = new BroadcastQueue(8192)
    for (let i = 0; i < 8192; i++) q.push(`d${i}`, new Uint8Array(200 + (i % 900)), 8)
    const t0 = performance.now()
    let n = 0
    for (let r = 0; r < 2000; r++) n += q.take(3, 1400).length
    const ms = performance.now() - t0
    console.log(`2,000 takes over an 8,192-item backlog: ${ms.toFixed(0)} ms, ${n} payloads`)
    expect(n).toBeGreaterThan(2000)
    expect(ms).toBeLessThan(2000) // generous on a shared machine; about 5 ms here
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
    // Readiness is per-origin order: a later delta waits for the first held one.
    expect(h.takeReady((d) => d.lo >= 7).map((d) => d.lo)).toEqual([])
    expect(h.takeReady((d) => d.lo <= 7).map((d) => d.lo)).toEqual([6, 7])
    expect(h.size).toBe(1)
    expect(h.holds('a')).toBe(true)
    h.forget('a')
    expect(h.size).toBe(0)
  })
})
