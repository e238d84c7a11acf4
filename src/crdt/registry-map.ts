/**
 * The target registry: an add-wins observed-remove map (Almeida et al. 2018,
 * AWORMap) keyed by target id, where each entry also names its contributor.
 *
 * Semantics (documented in docs/BENCHMARKS.md "Replicated state" too):
 * - key = target id; each entry = (dot, contributor, definition, HLC stamp).
 * - A contributor (a node's targets file, or "api") owns its own entries: its
 *   put replaces only its own observed entries for that id, and dropping an id
 *   from a node's file removes only that node's contribution. The target stays
 *   while any contributor still has an entry.
 * - `removeTarget` (the API's DELETE) removes every entry it has observed, from
 *   every contributor: cluster-wide. A put concurrent with it (not observed)
 *   survives: add wins.
 * - The visible definition is the entry with the greatest (HLC, contributor,
 *   dot): deterministic, so every replica shows the same one.
 */
import type { DeltaBuilder, Entry } from './dot-store.ts'
import { compareHlc, isHlcStamp, type HlcStamp } from './hlc.ts'
import type { Replica } from './replica.ts'

export const REGISTRY_PREFIX = 'r/'

export interface RegistryValue {
  /** Contributor: a node name for its targets file, or e.g. "api". */
  c: string
  /** The target definition, opaque here (CBOR-serialisable). */
  d: unknown
  t: HlcStamp
}

export interface TargetView {
  def: unknown
  contributors: string[]
}

const val = (e: Entry) => e.v as RegistryValue

export function isRegistryValue(v: unknown): v is RegistryValue {
  if (typeof v !== 'object' || v === null) return false
  const x = v as Record<string, unknown>
  const c = x.c
  return typeof c === 'string' && c.length <= 256 && Object.hasOwn(x, 'd') && isHlcStamp(x.t)
}

/** Adds or replaces `contributor`'s definition of `id`. Returns false when it is unchanged (no delta). */
export function regPut(
  rep: Replica,
  b: DeltaBuilder,
  contributor: string,
  id: string,
  def: unknown,
  t: HlcStamp,
  same: (a: unknown, b: unknown) => boolean,
): boolean {
  const mine = rep.entries(REGISTRY_PREFIX + id).filter((e) => val(e).c === contributor)
  if (mine.length === 1 && same(val(mine[0] as Entry).d, def)) return false
  b.write(REGISTRY_PREFIX + id, mine, { v: { c: contributor, d: def, t } satisfies RegistryValue })
  return true
}

/** Removes only `contributor`'s entries for `id`. */
export function regRemoveContribution(rep: Replica, b: DeltaBuilder, contributor: string, id: string): boolean {
  const mine = rep.entries(REGISTRY_PREFIX + id).filter((e) => val(e).c === contributor)
  if (mine.length === 0) return false
  b.write(REGISTRY_PREFIX + id, mine)
  return true
}

/** Removes every observed entry for `id`, whoever contributed it. */
export function regRemoveAll(rep: Replica, b: DeltaBuilder, id: string): boolean {
  const all = rep.entries(REGISTRY_PREFIX + id)
  if (all.length === 0) return false
  b.write(REGISTRY_PREFIX + id, all)
  return true
}

export function regResolve(entries: Entry[]): TargetView | undefined {
  let best: Entry | undefined
  for (const e of entries) {
    if (!best) best = e
    else {
      const c = compareHlc(val(e).t, val(best).t) || cmpStr(val(e).c, val(best).c) || cmpStr(e.r, best.r) || e.n - best.n
      if (c > 0) best = e
    }
  }
  if (!best) return undefined
  return { def: val(best).d, contributors: [...new Set(entries.map((e) => val(e).c))].sort() }
}

/** Ids `contributor` currently contributes (for setContribution diffs). */
export function regContributed(rep: Replica, contributor: string): Map<string, unknown> {
  const out = new Map<string, unknown>()
  for (const id of rep.keys(REGISTRY_PREFIX))
    for (const e of rep.entries(REGISTRY_PREFIX + id)) if (val(e).c === contributor) out.set(id, val(e).d)
  return out
}

export const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
