/**
 * CRDT laws over random histories (Almeida et al. 2018; docs/ARCHITECTURE.md "Testing"): join is commutative,
 * associative and idempotent; joining every delta, in any order or in any
 * causally safe delivery order through anti-entropy, equals joining full states.
 */
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { type CausalState, type Delta, cloneState, emptyState, join, joinInto } from '../../src/crdt/dot-store.ts'
import { SeededRng } from '../../src/seams/rng.ts'
import { SimClock } from '../sim/sim-clock.ts'
import { hex, mkReplica, randomOp } from './helpers.ts'

const RUNS = Number(process.env.PROP_RUNS ?? 200)

/** A random history on 3 replicas with occasional full syncs; returns visited states and all deltas. */
function history(seed: number, steps: number) {
  const rng = new SeededRng(seed)
  const clock = new SimClock()
  const deltas: Delta[] = []
  const reps = ['a', 'b', 'c'].map((n) => mkReplica(n, clock, undefined, deltas).rs)
  const states: CausalState[] = []
  for (let i = 0; i < steps; i++) {
    clock.advance(rng.int(3))
    const r = reps[rng.int(3)]!
    if (rng.int(5) === 0) {
      const from = reps[rng.int(3)]!
      r.ae.mergeFull(cloneState(from.state))
    } else randomOp(r, rng)
    states.push(cloneState(r.state))
  }
  return { reps, states, deltas, rng }
}

const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 })

describe('join laws', () => {
  test('commutative, associative, idempotent over reachable states', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 5, max: 60 }), (seed, steps) => {
        const { states, rng } = history(seed, steps)
        const pick = () => states[rng.int(states.length)] ?? emptyState()
        const a = pick()
        const b = pick()
        const c = pick()
        expect(hex(join(a, b))).toBe(hex(join(b, a)))
        expect(hex(join(join(a, b), c))).toBe(hex(join(a, join(b, c))))
        expect(hex(join(a, a))).toBe(hex(a))
        expect(hex(join(emptyState(), a))).toBe(hex(a))
      }),
      { numRuns: RUNS },
    )
  })

  test('joining all deltas in any order equals joining the full states', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 5, max: 60 }), (seed, steps) => {
        const { reps, deltas, rng } = history(seed, steps)
        const full = reps.map((r) => r.state).reduce((x, y) => join(x, y), emptyState())
        const s = emptyState()
        for (const d of rng.shuffle(deltas.slice())) joinInto(s, d, false)
        expect(hex(s)).toBe(hex(full))
      }),
      { numRuns: RUNS },
    )
  })

  test('delivering deltas through anti-entropy (held until causally safe) equals joining the full states', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 5, max: 60 }), (seed, steps) => {
        const { reps, deltas, rng } = history(seed, steps)
        const full = reps.map((r) => r.state).reduce((x, y) => join(x, y), emptyState())
        const { rs } = mkReplica('z')
        const shuffled = rng.shuffle(deltas.slice())
        // Duplicates too: a gossip layer delivers some deltas twice.
        for (let i = 0; i < shuffled.length; i += 3) shuffled.push(shuffled[i]!)
        for (const d of shuffled) rs.ae.receiveDelta(d)
        expect(rs.ae.held.size).toBe(0)
        expect(hex(rs.state)).toBe(hex(full))
      }),
      { numRuns: RUNS },
    )
  })
})
