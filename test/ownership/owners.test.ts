import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { owners } from '../../src/ownership/owners.ts'
import { OwnershipError } from '../../src/ownership/errors.ts'
import { BASE_SEED, forSeeds, memberNames, targetIds } from './helpers.ts'

const without = (xs: readonly string[], x: string) => xs.filter((m) => m !== x)

describe('owners(): properties over many seeds', () => {
  test('deterministic: the same set in any order gives the same lists', () => {
    forSeeds(30, (rng) => {
      const members = memberNames(rng, 1 + rng.int(40))
      const shuffled = rng.shuffle([...members])
      const k = 1 + rng.int(5)
      for (const id of targetIds(rng, 200)) expect(owners(id, shuffled, k)).toEqual(owners(id, members, k))
    })
  })

  test('deterministic under fast-check: permutations and k', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 30 }),
        fc.string({ maxLength: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer(),
        (members, id, k, salt) => {
          const rotated = members.map((_, i) => members[(i + Math.abs(salt)) % members.length] as string).reverse()
          expect(owners(id, rotated, k)).toEqual(owners(id, members, k))
        },
      ),
      { seed: BASE_SEED, numRuns: 300 },
    )
  })

  test('lists are distinct members, min(k, n) long, and a prefix of any longer list', () => {
    forSeeds(30, (rng) => {
      const members = memberNames(rng, 1 + rng.int(30))
      const set = new Set(members)
      for (const id of targetIds(rng, 100)) {
        const full = owners(id, members, members.length + 3)
        expect(full.length).toBe(members.length)
        expect(new Set(full).size).toBe(full.length)
        for (const m of full) expect(set.has(m)).toBe(true)
        for (const k of [1, 2, 3, 5, 70]) expect(owners(id, members, k)).toEqual(full.slice(0, Math.min(k, members.length)))
      }
    })
  })

  test('any member leaving: only its targets change first owner, each to its old second; lists lose just that member', () => {
    forSeeds(25, (rng) => {
      const n = 2 + rng.int(60)
      const members = memberNames(rng, n)
      const leaver = members[rng.int(n)] as string
      const after = rng.shuffle(without(members, leaver))
      const k = 3
      for (const id of targetIds(rng, 2000)) {
        const old = owners(id, members, k + 1)
        const now = owners(id, after, k)
        if (old[0] === leaver) expect(now[0]).toBe(old[1] as string)
        else expect(now[0]).toBe(old[0] as string) // nothing moves between survivors
        expect(now).toEqual(without(old, leaver).slice(0, Math.min(k, n - 1)))
      }
    })
  })

  test('a member joining: only targets it now owns first move, about 1/(n+1) of them', () => {
    let moved = 0
    let expected = 0
    let total = 0
    forSeeds(25, (rng) => {
      const n = 1 + rng.int(60)
      const all = memberNames(rng, n + 1)
      const joiner = all[n] as string
      const before = all.slice(0, n)
      const after = rng.shuffle([...all])
      const ids = targetIds(rng, 4000)
      let m = 0
      for (const id of ids) {
        const old = owners(id, before, 3)
        const now = owners(id, after, 3)
        if (now[0] !== old[0]) {
          expect(now[0]).toBe(joiner)
          m++
        }
        if (now[0] === joiner) expect(old[0]).not.toBe(joiner)
        // The rest of the list is the old list with the joiner slotted in.
        expect(without(now, joiner)).toEqual(old.slice(0, without(now, joiner).length))
      }
      // Per seed: within 6 standard deviations of binomial noise, plus slot quantisation.
      const p = 1 / (n + 1)
      expect(Math.abs(m / ids.length - p)).toBeLessThan(6 * Math.sqrt((p * (1 - p)) / ids.length) + 0.01)
      moved += m
      expected += p * ids.length
      total += ids.length
    })
    // Over all seeds the moved share is close to the ideal 1/(n+1).
    expect(Math.abs(moved - expected) / total).toBeLessThan(0.01)
  })
})

describe('owners(): bad input is refused, never answered wrongly', () => {
  const cases: [string, () => unknown, string][] = [
    ['empty member list', () => owners('t', [], 3), 'no-members'],
    ['duplicate member', () => owners('t', ['a', 'b', 'a'], 3), 'duplicate-member'],
    ['empty member name', () => owners('t', ['a', ''], 3), 'bad-member'],
    ['k = 0', () => owners('t', ['a'], 0), 'bad-replicas'],
    ['k < 0', () => owners('t', ['a'], -2), 'bad-replicas'],
    ['k not an integer', () => owners('t', ['a'], 1.5), 'bad-replicas'],
    ['k NaN', () => owners('t', ['a'], Number.NaN), 'bad-replicas'],
  ]
  test.each(cases)('%s → OwnershipError', (_, call, code) => {
    let err: unknown
    try {
      call()
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(OwnershipError)
    expect((err as OwnershipError).code).toBe(code as OwnershipError['code'])
    expect((err as Error).message.length).toBeGreaterThan(10)
  })

  test('a cached member array mutated in place is noticed (no stale answer)', () => {
    const members = ['a', 'b', 'c']
    const before = owners('x', members, 3)
    members.push('a')
    expect(() => owners('x', members, 3)).toThrow(OwnershipError)
    members.pop()
    members[0] = 'z'
    expect(owners('x', members, 3).sort()).toEqual(['b', 'c', 'z'])
    expect(before.sort()).toEqual(['a', 'b', 'c'])
  })
})
