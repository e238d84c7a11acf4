/**
 * OwnershipTable: who checks which target, in priority order, for a live member set.
 *
 * Scheme (docs/ARCHITECTURE.md "Where each mechanism lives"): every target id is jump-hashed (Lamping &
 * Veach) into a fixed number of slots that never changes, so a target's slot never
 * moves. Each slot's owner list is its members ranked by rendezvous weight
 * (Thaler & Ravishankar, HRW) — a function of the member *set* alone, so:
 *  - every node gets the same lists whatever order it learned the members in;
 *  - when any member leaves, only the slots it owned change first owner, each to its
 *    previous second owner; nothing moves between survivors;
 *  - when a member joins, only slots that rank it first change first owner (≈ 1/(n+1)).
 * Plain jump hash over a renumbered member list has none of this for a middle member.
 *
 * The top `depth` owners of each slot are kept in typed arrays and filled lazily, so a
 * lookup is one hash, one jump and an index. setMembers() updates only what a change
 * can touch: a leave rescans the slots that listed the leaver; a join weighs the
 * joiner once per filled slot. Tracked targets keep their slot, so recomputing every
 * target's owner after a change is an array walk without hashing.
 */
import { checkMembers, checkReplicas, OwnershipError } from './errors.ts'
import { biasedWeight, memberKey, slotOfId, slotSalt } from './keys.ts'

export interface OwnershipTableOptions {
  /**
   * Fixed slot count every node must share (default 262,144 = 2^18). More slots give a
   * more even split (a member's share varies by about sqrt(members/slots)) at the cost
   * of memory (8 bytes × depth per slot) and join time (one weight per filled slot).
   * Changing it re-maps every target, so it is a cluster-wide constant.
   */
  slots?: number
  /**
   * Owners kept per slot (default 3). Deeper lookups are still answered, by ranking the
   * slot's members on demand (O(members)). More depth costs memory and leave time.
   */
  depth?: number
}

export const DEFAULT_SLOTS = 1 << 18
export const DEFAULT_DEPTH = 3
const UNFILLED = -1

export interface MembershipChange {
  added: string[]
  removed: string[]
  /** Filled slots whose owner list changed (0 when the table was reset instead). */
  slotsChanged: number
  /** True when the table was cleared and will refill lazily. */
  reset: boolean
}

export class OwnershipTable {
  readonly slots: number
  readonly depth: number
  // Members by stable index; an index is reused only after its member has left.
  private names: string[] = []
  // Member key halves as int32, so the hot loops stay in small-integer arithmetic.
  private keyLo: number[] = []
  private keyHi: number[] = []
  private freeIdx: number[] = []
  private index = new Map<string, number>()
  private active: number[] = []
  // Per slot: `len` owner indices and their (biased) weights, best first; filled lazily.
  // own[slot * depth] = UNFILLED marks a slot not ranked yet (one memory read per lookup).
  private own: Int32Array
  private wt: Int32Array
  private len = 0
  private rankedSlots = 0
  // Tracked targets and their (never changing) slots.
  private slotCache = new Map<string, number>()
  private targets: string[] = []
  private targetSlots = new Uint32Array(0)

  constructor(opts: OwnershipTableOptions = {}) {
    const slots = opts.slots ?? DEFAULT_SLOTS
    const depth = opts.depth ?? DEFAULT_DEPTH
    if (!Number.isInteger(slots) || slots < 1 || slots >= 2 ** 31) {
      throw new OwnershipError('bad-option', `slots must be an integer in [1, 2^31), got ${String(slots)}`)
    }
    if (!Number.isInteger(depth) || depth < 1 || depth > 64) {
      throw new OwnershipError('bad-option', `depth must be an integer in [1, 64], got ${String(depth)}`)
    }
    this.slots = slots
    this.depth = depth
    this.own = new Int32Array(slots * depth)
    this.wt = new Int32Array(slots * depth)
    this.own.fill(UNFILLED)
  }

  /** The current members, sorted. */
  members(): string[] {
    return this.active.map((i) => this.names[i] as string).sort()
  }

  get size(): number {
    return this.active.length
  }

  /** Replaces the member set; throws OwnershipError (table unchanged) on bad input. */
  setMembers(members: readonly string[]): MembershipChange {
    checkMembers(members)
    const next = new Set(members)
    const removed = this.active.map((i) => this.names[i] as string).filter((m) => !next.has(m))
    const added = members.filter((m) => !this.index.has(m))
    if (added.length + removed.length === 0) return { added, removed, slotsChanged: 0, reset: false }
    // Patching costs about one weight per slot per join and `depth` per leave; starting
    // over costs one weight per member for every slot ranked so far. Take the cheaper.
    const patchCost = (added.length + removed.length * this.depth) * this.slots
    if (this.active.length === 0 || patchCost > this.rankedSlots * members.length) {
      this.reset(members)
      return { added, removed, slotsChanged: 0, reset: true }
    }
    // Joins first, so the member set never passes through empty.
    let slotsChanged = 0
    for (const m of added) slotsChanged += this.join(m)
    for (const m of removed) slotsChanged += this.leave(m)
    return { added, removed, slotsChanged, reset: false }
  }

  /** The slot a target id lives in; fixed for the life of the cluster. */
  slotOf(id: string): number {
    return slotOfId(id, this.slots)
  }

  /** The first min(k, members) owners of a target, in priority order. */
  ownersOf(id: string, k: number = this.depth): string[] {
    checkReplicas(k)
    return this.list(this.slotOf(id), k)
  }

  ownersOfSlot(slot: number, k: number = this.depth): string[] {
    checkReplicas(k)
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) {
      throw new OwnershipError('bad-option', `slot must be an integer in [0, ${this.slots}), got ${String(slot)}`)
    }
    return this.list(slot, k)
  }

  private list(slot: number, k: number): string[] {
    if (this.active.length === 0) throw new OwnershipError('no-members', 'no members: call setMembers() first')
    // A kept list that already holds every member is the full ranking.
    if (k > this.depth && this.len < this.active.length) return this.rank(slot, k)
    const base = slot * this.depth
    if (this.own[base] === UNFILLED) this.fillNew(slot)
    const n = k < this.len ? k : this.len
    const out = new Array<string>(n)
    for (let r = 0; r < n; r++) out[r] = this.names[this.own[base + r] as number] as string
    return out
  }

  /**
   * The highest-priority owner that `usable` accepts (e.g. alive and not suspected),
   * looking past the kept depth when needed; undefined when no member is usable.
   */
  firstOwnerWhere(id: string, usable: (member: string) => boolean): string | undefined {
    return this.firstOwnerOfSlotWhere(this.slotOf(id), usable)
  }

  /** firstOwnerWhere for a slot the caller already knows (ids hash once, not on every lookup). */
  firstOwnerOfSlotWhere(slot: number, usable: (member: string) => boolean): string | undefined {
    for (const m of this.ownersOfSlot(slot, Math.min(this.depth, this.active.length))) if (usable(m)) return m
    if (this.active.length <= this.depth) return undefined
    return this.rank(slot, this.active.length).find(usable)
  }

  /** Sets the targets that ownedBy()/ownershipMap() answer for, hashing each id once. */
  setTargets(ids: Iterable<string>): void {
    const cache = new Map<string, number>()
    const list: string[] = []
    for (const id of ids) {
      const slot = this.slotCache.get(id) ?? this.slotOf(id)
      cache.set(id, slot)
      list.push(id)
    }
    this.slotCache = cache
    this.targets = list
    this.targetSlots = Uint32Array.from(list, (id) => cache.get(id) as number)
  }

  /** Target ids whose first owner is `member` (tracked targets, or the given list). */
  ownedBy(member: string, ids?: readonly string[]): string[] {
    const idx = this.index.get(member)
    if (idx === undefined) return []
    const out: string[] = []
    this.walk(ids, (id, first) => {
      if (first === idx) out.push(id)
    })
    return out
  }

  /** Member → ids it is first owner of; every member appears, possibly with none. */
  ownershipMap(ids?: readonly string[]): Map<string, string[]> {
    const byIdx: string[][] = this.names.map(() => [])
    this.walk(ids, (id, first) => (byIdx[first] as string[]).push(id))
    const out = new Map<string, string[]>()
    for (const name of this.members()) out.set(name, byIdx[this.index.get(name) as number] as string[])
    return out
  }

  private walk(ids: readonly string[] | undefined, fn: (id: string, firstIdx: number) => void): void {
    if (this.active.length === 0) throw new OwnershipError('no-members', 'no members: call setMembers() first')
    const list = ids ?? this.targets
    const D = this.depth
    for (let t = 0; t < list.length; t++) {
      const id = list[t] as string
      const slot = ids ? (this.slotCache.get(id) ?? this.slotOf(id)) : (this.targetSlots[t] as number)
      if (this.own[slot * D] === UNFILLED) this.fillNew(slot)
      fn(id, this.own[slot * D] as number)
    }
  }

  private better(w1: number, i1: number, w2: number, i2: number): boolean {
    // Equal 32-bit weights are rare but possible; names break the tie the same way everywhere.
    return w1 > w2 || (w1 === w2 && (this.names[i1] as string) < (this.names[i2] as string))
  }

  private fillNew(slot: number): void {
    this.fill(slot)
    this.rankedSlots++
  }

  /** Computes a slot's top `len` owners from scratch: O(members). */
  private fill(slot: number): void {
    const len = this.len
    const base = slot * this.depth
    const last = base + len - 1
    const { own, wt, active, keyLo, keyHi } = this
    const salt = slotSalt(slot)
    let count = 0
    for (let a = 0; a < active.length; a++) {
      const m = active[a] as number
      const w = biasedWeight(salt, keyLo[m] as number, keyHi[m] as number)
      // Most members lose to the current last entry; that test is all they cost.
      if (count === len) {
        const lw = wt[last] as number
        if (w < lw || (w === lw && !this.better(w, m, lw, own[last] as number))) continue
      }
      let r = count < len ? count++ : len - 1
      while (r > 0 && this.better(w, m, wt[base + r - 1] as number, own[base + r - 1] as number)) {
        wt[base + r] = wt[base + r - 1] as number
        own[base + r] = own[base + r - 1] as number
        r--
      }
      wt[base + r] = w
      own[base + r] = m
    }
  }

  /** Full ranking of a slot's members, best first, truncated to k. */
  private rank(slot: number, k: number): string[] {
    const salt = slotSalt(slot)
    const ws = this.active.map((m) => ({ m, w: biasedWeight(salt, this.keyLo[m] as number, this.keyHi[m] as number) }))
    ws.sort((a, b) => (this.better(a.w, a.m, b.w, b.m) ? -1 : this.better(b.w, b.m, a.w, a.m) ? 1 : 0))
    return ws.slice(0, k).map((e) => this.names[e.m] as string)
  }

  private register(name: string): number {
    const idx = this.freeIdx.pop() ?? this.names.length
    const [lo, hi] = memberKey(name)
    this.names[idx] = name
    this.keyLo[idx] = lo | 0
    this.keyHi[idx] = hi | 0
    this.index.set(name, idx)
    this.active.push(idx)
    return idx
  }

  private reset(members: readonly string[]): void {
    this.names = []
    this.keyLo = []
    this.keyHi = []
    this.freeIdx = []
    this.index.clear()
    this.active = []
    for (const m of members) this.register(m)
    this.len = Math.min(this.depth, this.active.length)
    this.own.fill(UNFILLED)
    this.rankedSlots = 0
  }

  /** Weighs the joiner once per filled slot and inserts it where it ranks in the top `len`. */
  private join(name: string): number {
    const m = this.register(name)
    const oldLen = this.len
    this.len = Math.min(this.depth, this.active.length)
    const grow = this.len > oldLen
    const [lo, hi] = [this.keyLo[m] as number, this.keyHi[m] as number]
    const D = this.depth
    let changed = 0
    for (let s = 0; s < this.slots; s++) {
      const base = s * D
      if (this.own[base] === UNFILLED) continue
      const w = biasedWeight(slotSalt(s), lo, hi)
      let r: number
      if (grow) r = oldLen
      else if (this.better(w, m, this.wt[base + oldLen - 1] as number, this.own[base + oldLen - 1] as number)) r = oldLen - 1
      else continue
      while (r > 0 && this.better(w, m, this.wt[base + r - 1] as number, this.own[base + r - 1] as number)) {
        this.wt[base + r] = this.wt[base + r - 1] as number
        this.own[base + r] = this.own[base + r - 1] as number
        r--
      }
      this.wt[base + r] = w
      this.own[base + r] = m
      changed++
    }
    return changed
  }

  /** Refills only the slots that listed the leaver; the others cannot change. */
  private leave(name: string): number {
    const m = this.index.get(name) as number
    this.index.delete(name)
    this.active.splice(this.active.indexOf(m), 1)
    this.freeIdx.push(m)
    const oldLen = this.len
    this.len = Math.min(this.depth, this.active.length)
    const D = this.depth
    let changed = 0
    for (let s = 0; s < this.slots; s++) {
      const base = s * D
      if (this.own[base] === UNFILLED) continue
      for (let r = 0; r < oldLen; r++) {
        if (this.own[base + r] !== m) continue
        this.fill(s)
        changed++
        break
      }
    }
    return changed
  }
}
