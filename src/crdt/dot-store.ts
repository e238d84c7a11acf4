/**
 * A causal dot store: key -> set of (dot, value) entries, plus one causal
 * context for the whole store (Almeida et al. 2018, §6, "DotMap<K, DotFun>").
 * An entry lives while its dot is in some store; once a replica has seen a dot
 * in its context but holds no entry for it, the entry was removed. So removal
 * needs no tombstone: the dot in the context is the whole record of it, and the
 * context folds to one counter per replica.
 *
 * Every mutation mints fresh dots from the local replica, contiguously, so each
 * delta covers a counter range lo..hi of its origin; anti-entropy uses the ranges
 * to log deltas, skip duplicates and see a lost delta as a hole in the context.
 *
 * Concrete types (the registry AWOR map, the health register map) are read-time
 * views over this one store, under key prefixes. A map may register its own join
 * rule for its prefix (registerJoinRule): health-map.ts's registers join by
 * "the greatest value wins", contexts playing no part, so their writes remove
 * nothing and depend on nothing. The store stays generic: it knows the rules by
 * prefix only, never the maps that register them.
 */
import { CausalContext, type ReplicaId } from './causal-context.ts'

export interface Entry {
  r: ReplicaId
  n: number
  v: unknown
}

export interface CausalState {
  ctx: CausalContext
  store: Map<string, Entry[]>
}

/** A delta: a causal state fragment minted by `origin` as counters lo..hi. */
export interface Delta extends CausalState {
  origin: ReplicaId
  lo: number
  hi: number
}

export function emptyState(): CausalState {
  return { ctx: new CausalContext(), store: new Map() }
}

const byDot = (a: Entry, b: Entry) => (a.r < b.r ? -1 : a.r > b.r ? 1 : a.n - b.n)

/** True when `es` holds an entry with dot (r, n). Lists are short (one entry per key, a few while concurrent). */
function hasDot(es: Entry[], r: ReplicaId, n: number): boolean {
  for (const e of es) if (e.n === n && e.r === r) return true
  return false
}

/** True when both lists hold the same dots in the same order: then the join keeps `a` as it is. */
function sameDots(a: Entry[], b: Entry[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Entry
    const y = b[i] as Entry
    if (x.n !== y.n || x.r !== y.r) return false
  }
  return true
}

/** The join of one key's entries; returns `a` itself when nothing changes. */
function joinEntries(a: Entry[], b: Entry[], sCtx: CausalContext, oCtx: CausalContext): Entry[] {
  // The common case of a push/pull or a full sync: both sides already agree on this key.
  if (sameDots(a, b)) return a
  let out: Entry[] | undefined
  for (let i = 0; i < a.length; i++) {
    const e = a[i] as Entry
    const keep = hasDot(b, e.r, e.n) || !oCtx.has(e.r, e.n)
    if (keep) out?.push(e)
    else out ??= a.slice(0, i)
  }
  for (const e of b) {
    if (hasDot(a, e.r, e.n) || sCtx.has(e.r, e.n)) continue
    out ??= a.slice()
    out.push(e)
  }
  if (!out) return a
  out.sort(byDot)
  return out
}

/**
 * A key's join when its map does not join by causal removal: both sides' entries
 * in, the joined entries out, `a` itself when nothing changes. It must be a
 * join (commutative, associative, idempotent), as the laws tests check.
 */
export type JoinRule = (a: Entry[], b: Entry[]) => Entry[]

/** Join rules by key prefix, registered by the maps that need one (module load time). */
const joinRules: Array<[prefix: string, rule: JoinRule]> = []

/** Makes keys under `prefix` join by `rule` instead of by causal removal. */
export function registerJoinRule(prefix: string, rule: JoinRule): void {
  const had = joinRules.findIndex(([p]) => p === prefix)
  if (had >= 0) joinRules[had] = [prefix, rule]
  else joinRules.push([prefix, rule])
}

function joinRuleFor(key: string): JoinRule | undefined {
  for (const [p, rule] of joinRules) if (key.startsWith(p)) return rule
  return undefined
}

/**
 * Joins `o` into `s` in place and returns the keys whose entries changed.
 * With `full`, every key of both sides is visited (o is a full state); otherwise
 * only o's keys (o is a delta, and every key whose entries it removes is listed
 * in its store, possibly with no entries).
 */
export function joinInto(s: CausalState, o: CausalState, full: boolean): Set<string> {
  const changed = new Set<string>()
  const none: Entry[] = []
  const one = (k: string) => {
    const a = s.store.get(k) ?? none
    const b = o.store.get(k) ?? none
    const rule = joinRuleFor(k)
    const out = rule ? rule(a, b) : joinEntries(a, b, s.ctx, o.ctx)
    if (out === a) return
    changed.add(k)
    if (out.length === 0) s.store.delete(k)
    else s.store.set(k, out)
  }
  if (full) {
    // Keys only `s` holds first (o may remove their entries), then every key of `o`.
    // Collected before any write: deleting from a Map while iterating it is fine, but clarity wins.
    const onlyHere: string[] = []
    for (const k of s.store.keys()) if (!o.store.has(k)) onlyHere.push(k)
    for (const k of onlyHere) one(k)
  }
  for (const k of o.store.keys()) one(k)
  s.ctx.join(o.ctx)
  return changed
}

/** A pure join for tests and proofs: neither argument is modified. */
export function join(a: CausalState, b: CausalState): CausalState {
  const s = cloneState(a)
  joinInto(s, b, true)
  return s
}

export function cloneState(a: CausalState): CausalState {
  return { ctx: a.ctx.clone(), store: new Map([...a.store].map(([k, es]) => [k, es.slice()])) }
}

/**
 * Builds deltas for one local mutation batch. Each `write` removes the listed
 * observed entries of a key and optionally adds one new value under a fresh dot;
 * the returned delta carries exactly the removed dots and the new ones.
 */
export class DeltaBuilder {
  private ctx = new CausalContext()
  private store = new Map<string, Entry[]>()
  private lo = 0
  private hi = 0

  constructor(private readonly self: ReplicaId, private readonly nextCounter: () => number) {}

  write(key: string, removed: Entry[], value?: { v: unknown }): void {
    const list = this.store.get(key) ?? []
    this.store.set(key, list)
    for (const e of removed) this.ctx.add(e.r, e.n)
    // Removal-only writes still mint a dot: it keeps each origin's counters gapless,
    // so a counter a receiver lacks below one it has is a lost delta, to be pulled.
    const n = this.nextCounter()
    if (this.lo === 0) this.lo = n
    this.hi = n
    this.ctx.add(this.self, n)
    if (value) list.push({ r: this.self, n, v: value.v })
  }

  get size(): number {
    return this.store.size
  }

  build(): Delta | null {
    if (this.lo === 0) return null
    return { origin: this.self, lo: this.lo, hi: this.hi, ctx: this.ctx, store: this.store }
  }
}

/** Entries of `s` whose dots `ctx` has not seen (what a peer with that context lacks). */
export function unseenEntries(s: CausalState, ctx: CausalContext): number {
  let c = 0
  for (const es of s.store.values()) for (const e of es) if (!ctx.has(e.r, e.n)) c++
  return c
}

/** True when every dot of `d`'s range is in `ctx` (a duplicate, or something a peer already holds). */
export function coveredBy(ctx: CausalContext, d: Delta): boolean {
  if (d.hi <= ctx.contiguous(d.origin)) return true
  for (let n = d.lo; n <= d.hi; n++) if (!ctx.has(d.origin, n)) return false
  return true
}
