import { describe, expect, test } from 'bun:test'
import { DueHeap } from '../../src/poller/due-heap.ts'

describe('DueHeap', () => {
  test('pops in due order, ties in insertion order, matching a sort', () => {
    let seed = 7
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n)
    const h = new DueHeap<number>()
    const all: Array<{ due: number; k: number }> = []
    for (let k = 0; k < 3000; k++) {
      const due = rand(500)
      h.push(due, k, 0)
      all.push({ due, k })
    }
    all.sort((a, b) => a.due - b.due || a.k - b.k)
    const out: number[] = []
    for (;;) {
      const x = h.popDue(Number.POSITIVE_INFINITY, () => true)
      if (x === undefined) break
      out.push(x)
    }
    expect(out).toEqual(all.map((a) => a.k))
    expect(h.length).toBe(0)
  })

  test('stale generations are skipped; nothing is popped before it is due', () => {
    const h = new DueHeap<{ gen: number }>()
    const a = { gen: 0 }
    const b = { gen: 0 }
    h.push(10, a, 0)
    h.push(20, b, 0)
    a.gen = 1
    h.push(30, a, 1)
    const valid = (x: { gen: number }, g: number) => x.gen === g
    expect(h.peekDue(valid)).toBe(20)
    expect(h.popDue(19, valid)).toBeUndefined()
    expect(h.popDue(20, valid)).toBe(b)
    expect(h.popDue(100, valid)).toBe(a)
    expect(h.popDue(100, valid)).toBeUndefined()
    expect(h.peekDue(valid)).toBeUndefined()
  })

  test('interleaved pushes and pops stay ordered', () => {
    let seed = 11
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n)
    const h = new DueHeap<number>()
    const ref: number[] = []
    let now = 0
    for (let step = 0; step < 5000; step++) {
      if (rand(3) !== 0) {
        const due = now + rand(100)
        h.push(due, due, 0)
        ref.push(due)
      } else {
        now += rand(20)
        ref.sort((x, y) => x - y)
        const want = ref.length > 0 && (ref[0] as number) <= now ? ref.shift() : undefined
        expect(h.popDue(now, () => true)).toBe(want)
      }
    }
  })
})
