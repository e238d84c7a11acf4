import { describe, expect, test } from 'bun:test'
import { msUntilNextTick, probeRound, ringTarget } from '../../src/membership/probe-schedule.ts'

describe('probe schedule (ring)', () => {
  test.each([
    // now, phase, interval, round
    [0, 0, 1000, 0],
    [1000, 0, 1000, 1],
    [1499, 0, 1000, 1],
    [1500, 0, 1000, 2], // half-way to the next tick counts as the next
    [1250, 250, 1000, 1],
    [1240, 250, 1000, 1], // a tick that fires 10 ms early stays in its round
    [1260, 250, 1000, 1], // ... and 10 ms late too
    [2990, 999, 1000, 2],
    [3004, 999, 1000, 2], // late past the round's wall-clock edge: still round 2
  ])('round(now=%d, phase=%d, interval=%d) = %d', (now, phase, iv, want) => {
    expect(probeRound(now, phase, iv)).toBe(want)
  })

  test.each([
    // now, phase, interval, every, wait
    [1250, 250, 1000, 1, 1000],
    [1260, 250, 1000, 1, 990], // a late tick does not push the next one late
    [1240, 250, 1000, 1, 1010],
    [1250, 250, 1000, 3, 3000], // Lifeguard-scaled: skip two rounds, stay in phase
    [0, 0, 1000, 0, 1000], // every < 1 treated as 1
  ])('next tick(now=%d, phase=%d, interval=%d, every=%d) in %d ms', (now, phase, iv, every, want) => {
    expect(msUntilNextTick(now, phase, iv, every)).toBe(want)
  })

  test('a clock that jumps keeps the wait within one scaled period', () => {
    for (const now of [-5e12, 0, 1.7e12, 9e15]) {
      const w = msUntilNextTick(now, 400, 1000, 2)
      expect(w).toBeGreaterThan(0)
      expect(w).toBeLessThanOrEqual(2500)
    }
  })

  test.each([
    // sorted members, self, round, target
    [['a', 'b', 'c', 'd'], 'a', 0, 'b'],
    [['a', 'b', 'c', 'd'], 'a', 1, 'c'],
    [['a', 'b', 'c', 'd'], 'a', 2, 'd'],
    [['a', 'b', 'c', 'd'], 'a', 3, 'b'], // offsets cycle over N − 1 = 3
    [['a', 'b', 'c', 'd'], 'd', 0, 'a'],
    [['a', 'b', 'c', 'd'], 'c', -1, 'b'], // negative rounds wrap the same way
    [['a', 'b'], 'b', 7, 'a'],
  ] as Array<[string[], string, number, string]>)('ring(%j, self=%s, round=%d) = %s', (sorted, self, round, want) => {
    expect(ringTarget(sorted, self, round)).toBe(want)
  })

  test('alone, or not in the list: nobody to probe', () => {
    expect(ringTarget(['a'], 'a', 3)).toBeUndefined()
    expect(ringTarget(['a', 'c'], 'b', 3)).toBeUndefined()
  })

  test('every round is a permutation without fixed points: each member probed exactly once, never by itself', () => {
    for (let n = 2; n <= 40; n++) {
      const names = Array.from({ length: n }, (_, i) => `n${String(i).padStart(3, '0')}`)
      for (let r = 0; r < 2 * n; r++) {
        const probed = names.map((me) => ringTarget(names, me, r) as string)
        expect(new Set(probed).size).toBe(n)
        for (let i = 0; i < n; i++) expect(probed[i]).not.toBe(names[i])
      }
    }
  })

  test('each prober visits every other member within N − 1 rounds (SWIM round robin)', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
    for (const me of names) {
      const seen = new Set<string>()
      for (let r = 100; r < 100 + names.length - 1; r++) seen.add(ringTarget(names, me, r) as string)
      expect(seen.size).toBe(names.length - 1)
      expect(seen.has(me)).toBe(false)
    }
  })
})
