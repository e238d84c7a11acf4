import { describe, expect, test } from 'bun:test'
import { OwnershipTable } from '../../src/ownership/table.ts'
import { OwnershipError } from '../../src/ownership/errors.ts'
import { owners } from '../../src/ownership/owners.ts'
import { forSeeds, memberNames, targetIds } from './helpers.ts'

/** A small slot count keeps the incremental paths busy (many slots filled) and the tests fast. */
const SLOTS = 4096

function snapshot(table: OwnershipTable, ids: string[], k: number): string[][] {
  return ids.map((id) => table.ownersOf(id, k))
}

describe('OwnershipTable: incremental updates equal a fresh computation', () => {
  test('random joins, leaves and swaps over many seeds', () => {
    let patches = 0
    let resets = 0
    forSeeds(20, (rng) => {
      const pool = memberNames(rng, 40)
      const depth = 1 + rng.int(4)
      const table = new OwnershipTable({ slots: SLOTS, depth })
      const ids = targetIds(rng, 1500)
      let current = pool.slice(0, 1 + rng.int(10))
      table.setMembers(current)
      table.setTargets(ids)
      for (let step = 0; step < 25; step++) {
        const r = rng.next()
        const outside = pool.filter((m) => !current.includes(m))
        if ((r < 0.4 || current.length === 1) && outside.length > 0) current = [...current, outside[rng.int(outside.length)] as string]
        else if (r < 0.8) current = current.filter((_, i) => i !== rng.int(current.length) || current.length === 1)
        else current = rng.shuffle([...current.slice(1), ...(outside.length > 0 ? [outside[0] as string] : [])])
        if (current.length === 0) current = [pool[0] as string]
        const change = table.setMembers(rng.shuffle([...current]))
        if (change.reset) resets++
        else patches++
        const fresh = new OwnershipTable({ slots: SLOTS, depth })
        fresh.setMembers(current)
        expect(table.members()).toEqual([...current].sort())
        const k = 1 + rng.int(depth + 2) // also past the kept depth
        expect(snapshot(table, ids, k)).toEqual(snapshot(fresh, ids, k))
        // The tracked-target views agree with per-id lookups.
        const map = table.ownershipMap()
        expect([...map.keys()].sort()).toEqual([...current].sort())
        for (const [m, owned] of map) {
          for (const id of owned) expect(table.ownersOf(id, 1)[0]).toBe(m)
          expect(table.ownedBy(m)).toEqual(owned)
        }
        expect([...map.values()].reduce((a, b) => a + b.length, 0)).toBe(ids.length)
      }
    })
    // Both paths must have been exercised for the equality above to mean anything.
    expect(patches).toBeGreaterThan(100)
    expect(resets).toBeGreaterThan(0)
  })

  test('one change to a well-used table is patched, not reset; a wholesale change resets', () => {
    const table = new OwnershipTable({ slots: SLOTS })
    const members = Array.from({ length: 20 }, (_, i) => `m${i}`)
    table.setMembers(members)
    table.setTargets(Array.from({ length: 5000 }, (_, i) => `t${i}`))
    table.ownershipMap()
    const leave = table.setMembers(members.slice(1))
    expect(leave).toMatchObject({ removed: ['m0'], added: [], reset: false })
    expect(leave.slotsChanged).toBeGreaterThan(0)
    expect(table.setMembers(members)).toMatchObject({ removed: [], added: ['m0'], reset: false })
    expect(table.setMembers(['x', 'y'])).toMatchObject({ reset: true })
  })

  test('a large change resets the table, and answers stay identical to owners()', () => {
    forSeeds(5, (rng) => {
      const table = new OwnershipTable()
      const a = memberNames(rng, 30)
      const b = memberNames(rng, 25)
      table.setMembers(a)
      const ids = targetIds(rng, 300)
      for (const id of ids) expect(table.ownersOf(id)).toEqual(owners(id, a, 3))
      expect(table.setMembers(b).reset).toBe(true)
      for (const id of ids) expect(table.ownersOf(id, 5)).toEqual(owners(id, b, 5))
    })
  })

  test('ownedBy/ownershipMap with an explicit id list, and unknown members', () => {
    const table = new OwnershipTable({ slots: SLOTS })
    table.setMembers(['a', 'b', 'c'])
    const ids = ['x', 'y', 'z', 'w']
    const map = table.ownershipMap(ids)
    expect([...map.values()].flat().sort()).toEqual([...ids].sort())
    expect(table.ownedBy('a', ids)).toEqual(map.get('a') as string[])
    expect(table.ownedBy('nobody', ids)).toEqual([])
  })

  test('firstOwnerWhere skips unusable owners, in priority order, past the kept depth', () => {
    forSeeds(10, (rng) => {
      const members = memberNames(rng, 8)
      const table = new OwnershipTable({ slots: SLOTS, depth: 2 })
      table.setMembers(members)
      for (const id of targetIds(rng, 50)) {
        const full = table.ownersOf(id, 8)
        const down = new Set(full.slice(0, rng.int(8)))
        expect(table.firstOwnerWhere(id, (m) => !down.has(m))).toBe(full.find((m) => !down.has(m)))
      }
      expect(table.firstOwnerWhere('q', () => false)).toBeUndefined()
    })
  })

  test('bad input throws OwnershipError and leaves the table as it was', () => {
    const table = new OwnershipTable({ slots: SLOTS })
    expect(() => table.ownersOf('t')).toThrow(OwnershipError) // no members yet
    table.setMembers(['a', 'b'])
    const before = table.ownersOf('t')
    expect(() => table.setMembers([])).toThrow(OwnershipError)
    expect(() => table.setMembers(['a', 'a'])).toThrow(OwnershipError)
    expect(() => table.ownersOf('t', 0)).toThrow(OwnershipError)
    expect(table.ownersOf('t')).toEqual(before)
    expect(table.members()).toEqual(['a', 'b'])
    expect(() => new OwnershipTable({ slots: 0 })).toThrow(OwnershipError)
    expect(() => new OwnershipTable({ depth: 0 })).toThrow(OwnershipError)
  })
})
