import { describe, expect, test } from 'bun:test'
import { owners } from '../../src/ownership/owners.ts'
import { DEFAULT_SLOTS, OwnershipTable } from '../../src/ownership/table.ts'
import { xxhash64 } from '../../src/seams/hash.ts'
import { jumpHashBig } from '../../src/ownership/jump-hash.ts'

/**
 * Frozen answers. Every node of a cluster must compute the same lists, including nodes
 * running another build of heck during a rolling upgrade, so these values must never
 * change by accident: a change here is a protocol change and needs a version bump.
 */
const MEMBERS = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e']
const GOLDEN: [string, number, string[]][] = [
  ['api-1', 214329, ['node-e', 'node-c', 'node-a', 'node-b', 'node-d']],
  ['db-1', 192716, ['node-c', 'node-d', 'node-e', 'node-a', 'node-b']],
  ['web-3', 838, ['node-a', 'node-e', 'node-c', 'node-b', 'node-d']],
  ['', 198756, ['node-b', 'node-a', 'node-d', 'node-c', 'node-e']],
  ['x'.repeat(128), 3321, ['node-a', 'node-b', 'node-c', 'node-e', 'node-d']],
  ['ünïcode', 149245, ['node-c', 'node-e', 'node-a', 'node-d', 'node-b']],
]

describe('frozen ownership answers', () => {
  test('the slot count is 2^18', () => {
    expect(DEFAULT_SLOTS).toBe(262_144)
  })

  test.each(GOLDEN)('%p → slot %p, owners %p', (id, slot, list) => {
    const table = new OwnershipTable()
    expect(table.slotOf(id)).toBe(slot)
    // The slot is jump(xxh64(id), 2^18): check through the BigInt path too.
    expect(jumpHashBig(xxhash64(id), DEFAULT_SLOTS)).toBe(slot)
    expect(owners(id, MEMBERS, 5)).toEqual(list)
    expect(owners(id, [...MEMBERS].reverse(), 2)).toEqual(list.slice(0, 2))
  })

  test('another process computes the same lists', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `svc-${i}`)
    const members = Array.from({ length: 37 }, (_, i) => `host-${i * 13}`)
    const script = `
      import { owners } from ${JSON.stringify(new URL('../../src/ownership/owners.ts', import.meta.url).pathname)}
      const ids = ${JSON.stringify(ids)}
      const members = ${JSON.stringify([...members].reverse())}
      console.log(JSON.stringify(ids.map((id) => owners(id, members, 4))))
    `
    const proc = Bun.spawnSync([process.execPath, '-e', script], { stdout: 'pipe', stderr: 'pipe' })
    expect(proc.stderr.toString()).toBe('')
    expect(proc.exitCode).toBe(0)
    expect(JSON.parse(proc.stdout.toString())).toEqual(ids.map((id) => owners(id, members, 4)))
  })
})
