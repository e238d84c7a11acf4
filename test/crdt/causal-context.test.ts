import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { CausalContext, validateEncodedContext } from '../../src/crdt/causal-context.ts'
import { Hlc, compareHlc, isHlcStamp } from '../../src/crdt/hlc.ts'
import { SimClock } from '../sim/sim-clock.ts'

const RUNS = Number(process.env.PROP_RUNS ?? 300)
const dotArb = fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 12 }))
const setArb = fc.array(dotArb, { maxLength: 30 })

function build(dots: Array<[string, number]>): CausalContext {
  const c = new CausalContext()
  for (const [r, n] of dots) c.add(r, n)
  return c
}
const asSet = (dots: Array<[string, number]>) => new Set(dots.map(([r, n]) => `${r}:${n}`))
const subset = (a: Set<string>, b: Set<string>) => [...a].every((x) => b.has(x))

describe('causal context', () => {
  test('compact encoding: a contiguous prefix plus exception ranges, not every dot', () => {
    const c = new CausalContext()
    for (let n = 1; n <= 1000; n++) c.add('a', n)
    c.add('a', 1005)
    c.add('a', 1006)
    c.add('b', 3)
    expect(c.encode()).toEqual([
      ['a', 1000, [1005, 1006]],
      ['b', 0, [3, 3]],
    ])
    c.add('b', 1)
    c.add('b', 2)
    expect(c.encode()[1]).toEqual(['b', 3, []])
    expect(c.exceptionCount()).toBe(2)
  })

  test('membership, encode/decode round trip and validation match the dot set', () => {
    fc.assert(
      fc.property(setArb, (dots) => {
        const c = build(dots)
        const s = asSet(dots)
        for (const r of ['a', 'b', 'c']) for (let n = 1; n <= 13; n++) expect(c.has(r, n)).toBe(s.has(`${r}:${n}`))
        const enc = c.encode()
        expect(validateEncodedContext(enc, 10, 100, 1000)).toBeNull()
        expect(CausalContext.decode(enc).encode()).toEqual(enc)
      }),
      { numRuns: RUNS },
    )
  })

  test('comparisons (before, after, equal, concurrent) agree with set inclusion', () => {
    fc.assert(
      fc.property(setArb, setArb, (x, y) => {
        const a = build(x)
        const b = build(y)
        const sa = asSet(x)
        const sb = asSet(y)
        const le = subset(sa, sb)
        const ge = subset(sb, sa)
        const want = le && ge ? 'equal' : le ? 'before' : ge ? 'after' : 'concurrent'
        expect(a.compare(b)).toBe(want)
        const opposite = { equal: 'equal', before: 'after', after: 'before', concurrent: 'concurrent' } as const
        expect(b.compare(a)).toBe(opposite[want])
      }),
      { numRuns: RUNS },
    )
  })

  test('join is set union', () => {
    fc.assert(
      fc.property(setArb, setArb, (x, y) => {
        const a = build(x)
        a.join(build(y))
        expect(a.encode()).toEqual(build([...x, ...y]).encode())
      }),
      { numRuns: RUNS },
    )
  })

  test('validation rejects malformed contexts', () => {
    expect(validateEncodedContext([['a', -1, []]], 10, 10, 100)).not.toBeNull()
    expect(validateEncodedContext([['a', 1, [2, 3]]], 10, 10, 100)).not.toBeNull() // adjacent to prefix: not compact
    expect(validateEncodedContext([['a', 1, [5, 4]]], 10, 10, 100)).not.toBeNull()
    expect(validateEncodedContext([['a', 1, []], ['a', 2, []]], 10, 10, 100)).not.toBeNull()
    expect(validateEncodedContext([['a', 1e9, []]], 10, 10, 100)).not.toBeNull()
    expect(validateEncodedContext('x', 10, 10, 100)).not.toBeNull()
  })
})

describe('hybrid logical clock', () => {
  test('monotonic under a stalled wall clock, above every observed stamp, refuses far-future stamps', () => {
    const clock = new SimClock()
    const h = new Hlc(clock, 1000)
    const a = h.now()
    const b = h.now()
    expect(compareHlc(b, a)).toBeGreaterThan(0)
    expect(h.observe([clock.now() + 500, 7])).toBe(true)
    const c = h.now()
    expect(compareHlc(c, [clock.now() + 500, 7])).toBeGreaterThan(0)
    expect(h.observe([clock.now() + 5000, 0])).toBe(false)
    expect(compareHlc(h.now(), [clock.now() + 5000, 0])).toBeLessThan(0)
    clock.advance(10_000)
    expect(h.now()[0]).toBe(clock.now())
  })

  test('stamps are whole ms (what every codec accepts) even when the wall clock runs in fractions', () => {
    const clock = new SimClock()
    const h = new Hlc(clock, 1000)
    clock.advance(12.375)
    const a = h.now()
    expect(isHlcStamp(a)).toBe(true)
    expect(a[0]).toBe(Math.floor(clock.now()))
    expect(h.observe([Math.floor(clock.now()), 3])).toBe(true)
    clock.advance(0.25)
    const b = h.now()
    expect(isHlcStamp(b)).toBe(true)
    expect(compareHlc(b, a)).toBeGreaterThan(0)
  })
})
