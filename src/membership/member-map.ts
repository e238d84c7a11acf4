/**
 * The members this node knows and the indexes SWIM reads on every packet
 * (memberlist's nodeMap and nodes slice, util.go kRandomNodes): O(1) random picks,
 * the live count that is n in every formula, and version numbers that tell caches
 * (the probe ring, the address index) when to rebuild. Every state change goes
 * through `setState`, which keeps them in step and tells the listeners; the rules
 * deciding which changes to make live in member-table.ts.
 */
import type { Clock } from '../seams/clock.ts'
import type { Rng } from '../seams/rng.ts'
import type { MemberState } from './math.ts'
import type { Suspicion } from './suspicion.ts'
import type { ChangeListener, MemberInfo, Meta } from './types.ts'

export interface Member {
  name: string
  addr: string
  meta: Meta
  inc: number
  state: MemberState
  /** Monotonic ms of the last state change: drives gossip-to-the-dead and reaping. */
  sinceMs: number
  suspicion?: Suspicion
}

/** A member as the rest of the node may read it: no writes, no suspicion timer. */
export type MemberRecord = Readonly<Omit<Member, 'suspicion'>>

/** The read side, which the prober, the disseminator and the node's API get. */
export interface MemberReader {
  get(name: string): MemberRecord | undefined
  has(name: string): boolean
  values(): IterableIterator<MemberRecord>
  /** Member names in the order they were first heard of. */
  names(): string[]
  /** Members that count toward n: alive or suspect, this node included. */
  liveCount(): number
  /** Bumped whenever the set of live (alive or suspect) members may have changed. */
  readonly liveVersion: number
  /** Bumped whenever a member is added, forgotten or changes address (for address lookups). */
  readonly addrVersion: number
  /** Up to `k` distinct random members other than self that pass `ok` (memberlist kRandomNodes). */
  randomMembers(k: number, ok: (m: MemberRecord) => boolean): MemberRecord[]
}

const counts = (st: MemberState): number => (st === 'alive' || st === 'suspect' ? 1 : 0)

export function memberInfo(m: MemberRecord): MemberInfo {
  return { name: m.name, addr: m.addr, state: m.state, incarnation: m.inc, meta: { ...m.meta } }
}

export class MemberMap implements MemberReader {
  private readonly byName = new Map<string, Member>()
  /** Names for O(1) random picks; kept in step with `byName`. */
  private list: string[] = []
  private listIndex = new Map<string, number>()
  private listeners: ChangeListener[] = []
  // Alive or suspect members other than this node, kept in step with every change.
  private live = 0
  private liveVer = 0
  private addrVer = 0

  constructor(
    private readonly clock: Clock,
    private readonly rng: Rng,
  ) {}

  get(name: string): Member | undefined {
    return this.byName.get(name)
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  values(): IterableIterator<Member> {
    return this.byName.values()
  }

  names(): string[] {
    return [...this.byName.keys()]
  }

  liveCount(): number {
    return this.live + 1
  }

  get liveVersion(): number {
    return this.liveVer
  }

  get addrVersion(): number {
    return this.addrVer
  }

  onChange(fn: ChangeListener): void {
    this.listeners.push(fn)
  }

  emit(m: Member, prev?: MemberState): void {
    const info = memberInfo(m)
    for (const fn of this.listeners) fn(info, prev)
  }

  /** Adds a member first heard of alive; the caller emits once it has acted on the news. */
  add(m: Member): void {
    this.byName.set(m.name, m)
    this.addrVer++
    this.live++
    this.liveVer++
    this.listIndex.set(m.name, this.list.length)
    this.list.push(m.name)
  }

  /** A name taken over by a new address. */
  readdress(m: Member, addr: string): void {
    m.addr = addr
    this.addrVer++
  }

  /** Moves `m` to `state` at `inc`, ending any suspicion; listeners hear of a change of state. */
  setState(m: Member, state: MemberState, inc: number): void {
    const prev = m.state
    m.suspicion?.cancel()
    m.suspicion = undefined
    m.state = state
    m.inc = inc
    this.live += counts(state) - counts(prev)
    if (counts(state) !== counts(prev)) this.liveVer++
    if (prev !== state) {
      m.sinceMs = this.clock.monotonic()
      this.emit(m, prev)
    }
  }

  randomMembers(k: number, ok: (m: MemberRecord) => boolean): Member[] {
    const list = this.list
    const out: Member[] = []
    const seen = new Set<string>()
    for (let i = 0; i < 3 * list.length && out.length < k; i++) {
      const name = list[this.rng.int(list.length)] as string
      if (seen.has(name)) continue
      seen.add(name)
      const m = this.byName.get(name)
      if (m && ok(m)) out.push(m)
    }
    return out
  }

  forget(name: string): void {
    const m = this.byName.get(name)
    if (m) this.live -= counts(m.state)
    this.liveVer++
    this.byName.delete(name)
    this.addrVer++
    const i = this.listIndex.get(name)
    if (i === undefined) return
    const last = this.list.pop() as string
    if (last !== name) {
      this.list[i] = last
      this.listIndex.set(last, i)
    }
    this.listIndex.delete(name)
  }
}
