import { describe, expect, test } from 'bun:test'
import { BroadcastQueue } from '../../src/membership/broadcast-queue.ts'

const msg = (s: string) => new TextEncoder().encode(s)
const txt = (xs: Uint8Array[]) => xs.map((x) => new TextDecoder().decode(x))

describe('BroadcastQueue', () => {
  test('least-sent first, newest first among equals', () => {
    const q = new BroadcastQueue()
    q.queue('a', msg('a1'))
    q.queue('b', msg('b1'))
    expect(txt(q.take(0, 2, 10))).toEqual(['b1']) // budget for one: newest
    q.queue('c', msg('c1'))
    expect(txt(q.take(0, 4, 10))).toEqual(['c1', 'a1']) // both unsent before b (sent once)
    // All sent once now: newest first within what moved together (c1, a1), then b1,
    // which moved on an earlier take (memberlist orders by id; this is the cheap near-equivalent).
    expect(txt(q.take(0, 100, 10))).toEqual(['c1', 'a1', 'b1'])
  })

  test('a newer message about a node replaces the queued one', () => {
    const q = new BroadcastQueue()
    q.queue('a', msg('old'))
    q.queue('a', msg('new'))
    expect(q.size).toBe(1)
    expect(txt(q.take(0, 100, 10))).toEqual(['new'])
  })

  test('retires a message after the retransmit limit', () => {
    const q = new BroadcastQueue()
    q.queue('a', msg('x'))
    for (let i = 0; i < 3; i++) expect(txt(q.take(3, 100, 3))).toEqual(['x'])
    expect(q.take(3, 100, 3)).toEqual([])
    expect(q.size).toBe(0)
  })

  test('respects the byte budget including overhead', () => {
    const q = new BroadcastQueue()
    for (let i = 0; i < 10; i++) q.queue(`k${i}`, new Uint8Array(10))
    expect(q.take(3, 40, 5).length).toBe(3) // 3 × 13 = 39
  })
})
