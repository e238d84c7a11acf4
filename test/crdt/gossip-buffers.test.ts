/** The anti-entropy buffers never grow past their limits, whoever stops answering. */
import { describe, expect, test } from 'bun:test'
import { CausalContext } from '../../src/crdt/causal-context.ts'
import type { Delta } from '../../src/crdt/dot-store.ts'
import { DeltaQueue } from '../../src/crdt/delta-queue.ts'
import { DeltaLog, HeldDeltas } from '../../src/crdt/gossip-buffers.ts'

const delta = (origin: string, lo: number, hi = lo): Delta => {
  const ctx = new CausalContext()
  ctx.addRange(origin, lo, hi)
  return { origin, lo, hi, ctx, store: new Map() }
}

/** A 100-byte payload whose first byte names it. */
const tag = (n: number) => {
  const b = new Uint8Array(100)
  b[0] = n
  return b
}

describe('bounded buffers', () => {
  test('delta queue: capped, least-sent first, each payload sent its quota then dropped', () => {
    const q = new DeltaQueue(10)
    for (let i = 0; i < 50; i++) q.push(`d${i}`, new Uint8Array(100), 3)
    expect(q.length).toBe(10)
    q.push('d49', new Uint8Array(100), 3) // already queued: ignored
    expect(q.length).toBe(10)
    let sent = 0
    for (let r = 0; r < 10; r++) sent += q.take(3, 520).length
    expect(sent).toBe(30)
    expect(q.length).toBe(0)
  })

  test('delta queue: the least-sent go first, a packet never carries one payload twice, the newest lead among equals', () => {
    const q = new DeltaQueue(100)
    q.push('old', tag(1), 2)
    q.push('new', tag(2), 2)
    q.push('fresh', tag(3), 4)
    expect(q.take(0, 200).map((b) => b[0])).toEqual([3, 2]) // room for two: the fresh one, then the newest of the rest
    expect(q.take(0, 1000).map((b) => b[0])).toEqual([3, 1, 2]) // 3 has 3 left, then 1 (2 left), then 2 (1 left)
    const seen = q.take(0, 1000).map((b) => b[0])
    expect(new Set(seen).size).toBe(seen.length)
  })

  test('delta queue: urgent items go ahead of a backlog of newer ones, for all their transmits', () => {
    const q = new DeltaQueue(100)
    q.push('news', tag(1), 3, true)
    for (let i = 0; i < 20; i++) q.push(`relay${i}`, tag(10 + i), 3) // newer, same transmits
    for (let r = 0; r < 3; r++) expect(q.take(0, 250)[0]?.[0]).toBe(1) // first in each of its 3 packets
    expect(q.take(0, 250).map((b) => b[0])).not.toContain(1)
    q.push('late', tag(2), 3)
    q.push('late', tag(2), 3, true) // queued already, then found to be news: promoted
    expect(q.take(0, 150).map((b) => b[0])).toEqual([2])
    const big = new DeltaQueue(10)
    big.push('huge', new Uint8Array(2000), 3, true) // can never fit a packet: dropped, not kept forever
    expect(big.take(0, 1400)).toEqual([])
    expect(big.length).toBe(0)
  })

  test('delta queue: an item too big for what is left of this packet waits for a roomier one', () => {
    const q = new DeltaQueue(10)
    expect(q.take(0, 1400)).toEqual([]) // a full packet's room, seen once
    q.push('news', new Uint8Array(900), 2, true)
    q.push('relay', new Uint8Array(900), 2)
    expect(q.take(0, 300)).toEqual([]) // piggybacked on a packet the membership layer mostly filled
    expect(q.length).toBe(2)
    expect(q.take(0, 1400).length).toBe(1) // the news first
    expect(q.take(0, 1400).length).toBe(1) // its second transmit
    expect(q.take(0, 1400).length).toBe(1) // then the relay
  })

  test('delta queue: a take over a backlog of thousands stays cheap', () => {
    const q = new DeltaQueue(8192)
    for (let i = 0; i < 8192; i++) q.push(`d${i}`, new Uint8Array(200 + (i % 900)), 8)
    const t0 = performance.now()
    let n = 0
    for (let r = 0; r < 2000; r++) n += q.take(3, 1400).length
    const ms = performance.now() - t0
    console.log(`2,000 takes over an 8,192-item backlog: ${ms.toFixed(0)} ms, ${n} payloads`)
    expect(n).toBeGreaterThan(2000)
    expect(ms).toBeLessThan(2000) // generous on a shared machine; about 5 ms here
  })

  test('delta log: per-origin and byte caps; deltas kept in counter order whatever order they came in', () => {
    const log = new DeltaLog(5, 1000)
    for (let n = 1; n <= 20; n++) log.add(delta('a', n), 10)
    expect(log.since('a', 15).map((l) => l.delta.lo)).toEqual([16, 17, 18, 19, 20])
    expect(log.since('a', 10).map((l) => l.delta.lo)).toEqual([16, 17, 18, 19, 20]) // 11..15 evicted: the caller sees the hole
    log.add(delta('a', 18), 10) // logged already
    expect(log.since('a', 0).map((l) => l.delta.lo)).toEqual([16, 17, 18, 19, 20])
    for (let n = 1; n <= 200; n++) log.add(delta(`o${n}`, 1), 10)
    expect(log.bytes).toBeLessThanOrEqual(1000)
    const out = new DeltaLog(10, 10_000)
    for (const lo of [9, 3, 6, 12]) out.add(delta('b', lo, lo + 2), 10) // out of order, with holes
    expect(out.since('b', 0).map((l) => l.delta.lo)).toEqual([3, 6, 9, 12])
    expect(out.since('b', 7).map((l) => l.delta.lo)).toEqual([6, 9, 12]) // 6..8 still carries 8
    expect(out.since('b', 8).map((l) => l.delta.lo)).toEqual([9, 12])
    expect(out.since('b', 14)).toEqual([])
  })

  test('held deltas: capped, oldest dropped first, released by the dots they wait for', () => {
    const h = new HeldDeltas(3)
    const none = () => [] as Array<[string, number]>
    expect(h.hold(delta('a', 5), [['a', 4]])).toBe(false)
    h.hold(delta('a', 6), [['a', 2]])
    h.hold(delta('b', 9), [['a', 4], ['c', 1]])
    expect(h.hold(delta('a', 8), [['a', 7]])).toBe(true) // full: a:5, the oldest, goes
    expect(h.size).toBe(3)
    expect(h.holds('c')).toBe(true) // awaited
    expect([...h.awaited()].sort()).toEqual(['a', 'c'])
    // a:4 arrives: only b:9 waited for it, and it still lacks c:1.
    const lacksC = (d: Delta) => (d.origin === 'b' ? ([['c', 1]] as Array<[string, number]>) : [['x', 1]] as Array<[string, number]>)
    expect(h.arrived('a', 4, 4, lacksC)).toEqual([])
    expect(h.arrived('c', 1, 1, none).map((d) => d.lo)).toEqual([9])
    expect(h.arrived('a', 1, 3, none).map((d) => d.lo)).toEqual([6]) // a range covering a:2
    expect(h.arrived('a', 100, 200, none)).toEqual([]) // nobody waits there
    expect(h.size).toBe(1)
    expect(h.takeReady(none).map((d) => d.lo)).toEqual([8])
    expect(h.size).toBe(0)
    expect([...h.awaited()]).toEqual([])
    h.hold(delta('q', 3), [['q', 1]])
    h.forget('q')
    expect(h.size).toBe(0)
    expect(h.holds('q')).toBe(false)
  })
})
