/**
 * owners(targetId, members, k): the stateless form of OwnershipTable for callers that
 * hold a plain member list (the CLI, the API, tests). Tables are cached per member set,
 * so repeated calls with the same set cost one hash, one jump and an index; the same
 * array passed again skips even the set lookup. Results depend only on the set.
 */
import { checkMembers, checkReplicas } from './errors.ts'
import { DEFAULT_DEPTH, OwnershipTable } from './table.ts'

/**
 * Distinct member sets kept (each table is about 8 × depth bytes per slot, ~6 MB at depth 3).
 * Long-lived callers with changing membership should hold their own OwnershipTable instead.
 */
const CACHE_SETS = 2
/** Deepest list kept per slot; larger k is answered by ranking the slot on demand. */
const MAX_CACHED_DEPTH = 8

const cache = new Map<string, OwnershipTable>()
let lastArray: readonly string[] | null = null
let lastCopy: string[] = []
let lastTable: OwnershipTable | null = null

function sameAsLast(members: readonly string[]): boolean {
  if (members !== lastArray || members.length !== lastCopy.length) return false
  for (let i = 0; i < members.length; i++) if (members[i] !== lastCopy[i]) return false
  return true
}

function tableFor(members: readonly string[], k: number): OwnershipTable {
  const depth = Math.max(DEFAULT_DEPTH, Math.min(k, members.length, MAX_CACHED_DEPTH))
  if (lastTable && lastTable.depth >= depth && sameAsLast(members)) return lastTable
  checkMembers(members)
  const key = `${depth}\u0000${JSON.stringify([...members].sort())}`
  let table = cache.get(key)
  if (table) {
    cache.delete(key)
  } else {
    table = new OwnershipTable({ depth })
    table.setMembers(members)
    if (cache.size >= CACHE_SETS) cache.delete(cache.keys().next().value as string)
  }
  cache.set(key, table)
  lastArray = members
  lastCopy = [...members]
  lastTable = table
  return table
}

/**
 * The first min(k, members.length) members responsible for `targetId`, in priority
 * order. Throws OwnershipError on an empty or duplicated member list or k < 1.
 */
export function owners(targetId: string, members: readonly string[], k: number): string[] {
  checkReplicas(k)
  return tableFor(members, k).ownersOf(targetId, k)
}
