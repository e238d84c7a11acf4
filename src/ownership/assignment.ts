/**
 * The members -> owners policy: which members take part in ownership, and which of
 * a target's owners checks it now. The owner lists come from the OwnershipTable
 * (jump hash into fixed slots, rendezvous order per slot); this module decides what
 * goes into the table and how liveness picks among the owners:
 * - alive and suspect members own; dead and left ones do not. A suspect keeps its
 *   place in the lists (a false suspicion moves nothing for good) but does not check
 *   while suspected: its next owner does (SWIM's suspicion, Das et al. 2002).
 * - join settling: a newcomer owns only once membership has had no newcomer for
 *   joinSettleMs, so a cold start of many nodes moves each target once, not once
 *   per join. Departures apply at once.
 * - ownership terms: a node that takes a target over writes under a term above the
 *   record it found, which fences out the former owner's late writes: one register
 *   per target, compared by (term, HLC, node), the term a fencing token (Kleppmann).
 * Pure: time comes from the Clock seam.
 */
import type { MemberState } from '../membership/math.ts'
import type { Cancel, Clock } from '../seams/clock.ts'
import { OwnershipTable } from './table.ts'

export interface AssignmentOptions {
  /** This node's name. */
  self: string
  clock: Clock
  /** Owners listed per target, in priority order (the first live one checks). Default 3. */
  replicas?: number
  /**
   * A member new to this node's view takes part in ownership only once membership has
   * had no newcomer for this long (ms); departures (dead, left) apply at once. During a
   * cold start, when 15 nodes join one after another, ownership then moves once instead
   * of once per join (at 16 × 10,000 targets the per-join moves were ~30,000 writes in
   * 20–40 s, whose gossip backlog delayed status changes by seconds). The interim owner
   * keeps checking meanwhile, so nothing goes unchecked; the cost is that a newcomer (or
   * a restarted node) takes its share this much later. 0 (the default) moves at once.
   */
  joinSettleMs?: number
  /**
   * This node joins an existing cluster (it was started with seeds): on first meeting
   * the others it adopts them as owners at once and only itself waits joinSettleMs, as
   * they do for it. Without seeds, the members it meets are the newcomers.
   */
  joining?: boolean
  /**
   * Whether the cluster already counted this node as a member when it joined (it
   * restarted before anyone saw it gone): such a node is still an owner in everyone's
   * table and takes its share at once.
   */
  knownBeforeJoin?: () => boolean
  /** Called when a settling period ends and the owners changed without a membership event. */
  onSettled?: () => void
}

/** A member as the policy needs it. */
export interface MemberStatus {
  name: string
  state: MemberState
}

/** The term a node writes under when it starts checking a target whose shared record is `rec`. */
export function takeoverTerm(self: string, rec: { owner: string; term: number } | undefined, retiredTerm: number): number {
  if (!rec) return retiredTerm + 1
  return rec.owner === self ? rec.term : rec.term + 1
}

export class OwnerAssignment {
  private readonly table = new OwnershipTable()
  private readonly replicas: number
  private states = new Map<string, MemberState>()
  private memberKey = ''
  /** The owners and which of them are alive, as of the last update. */
  private checkKey: string | undefined
  /** Members that take part in ownership, live members not yet admitted, and the timer that admits them. */
  private readonly settled = new Set<string>()
  private readonly pending = new Set<string>()
  private settleCancel?: Cancel
  private metOthers = false
  private stopped = false
  /**
   * Each target's slot, hashed once: every re-plan asks for the checker of every target,
   * and hashing 2,000 ids per re-plan per node was 40 % of a 50-agent simulation's CPU.
   */
  private readonly slots = new Map<string, number>()

  constructor(private readonly opts: AssignmentOptions) {
    this.replicas = opts.replicas ?? 3
    this.settled.add(opts.self)
  }

  /** The state of each member as of the last update (this node always included). */
  memberStates(): ReadonlyMap<string, MemberState> {
    return this.states
  }

  /**
   * Takes a new view of membership. Returns true when who checks what may have changed
   * (the owners, or which of them are alive); other member news (an incarnation,
   * metadata) does not re-plan anything.
   */
  update(members: Iterable<MemberStatus>): boolean {
    const next = new Map<string, MemberState>()
    for (const m of members) next.set(m.name, m.state)
    if (!next.has(this.opts.self)) next.set(this.opts.self, 'alive')
    this.states = next
    const live = [...next].filter(([, s]) => s === 'alive' || s === 'suspect').map(([n]) => n).sort()
    const owners = this.settledOwners(live)
    const key = owners.join('\n')
    const checkKey = owners.map((n) => (next.get(n) === 'alive' ? n : `~${n}`)).join('\n')
    if (key !== this.memberKey) {
      this.memberKey = key
      this.table.setMembers(owners)
    }
    if (checkKey === this.checkKey) return false
    this.checkKey = checkKey
    return true
  }

  /** Owners of a target in priority order, computed from the owning members alone. */
  owners(id: string): string[] {
    return this.table.ownersOfSlot(this.slotOf(id), this.replicas)
  }

  /** The node that checks a target now: its first owner that is neither suspect nor dead. */
  checker(id: string): string | undefined {
    return this.table.firstOwnerOfSlotWhere(this.slotOf(id), this.isAlive) ?? this.owners(id)[0]
  }

  /** Drops a removed target's cached slot. */
  forget(id: string): void {
    this.slots.delete(id)
  }

  private readonly isAlive = (m: string) => this.states.get(m) === 'alive'

  private slotOf(id: string): number {
    let s = this.slots.get(id)
    if (s === undefined) {
      s = this.table.slotOf(id)
      this.slots.set(id, s)
    }
    return s
  }

  stop(): void {
    this.stopped = true
    this.settleCancel?.()
  }

  /** `live` (sorted) less the newcomers still waiting out joinSettleMs. */
  private settledOwners(live: string[]): string[] {
    const settle = this.opts.joinSettleMs ?? 0
    if (settle <= 0) return live
    const self = this.opts.self
    const liveSet = new Set(live)
    // Departures apply at once; a member back later is a newcomer again.
    for (const n of this.settled) if (!liveSet.has(n)) this.settled.delete(n)
    for (const n of this.pending) if (!liveSet.has(n)) this.pending.delete(n)
    const firstMeeting = !this.metOthers && live.length > 1
    if (firstMeeting) {
      this.metOthers = true
      // A joiner waits for itself, as the others do for it, unless the cluster never saw it
      // gone (a quick restart): it is still an owner in everyone's table, and waiting would
      // leave its targets to nobody. A node without seeds waits for the members it meets.
      if (this.opts.joining && !this.opts.knownBeforeJoin?.()) {
        this.settled.delete(self)
        this.pending.add(self)
      }
    }
    let arrived = firstMeeting && this.pending.has(self)
    for (const n of live) {
      if (this.settled.has(n) || this.pending.has(n)) continue
      if (firstMeeting && this.opts.joining) this.settled.add(n) // the cluster it joins owns at once
      else {
        this.pending.add(n)
        arrived = true
      }
    }
    if (arrived) {
      this.settleCancel?.()
      this.settleCancel = this.opts.clock.after(settle, () => {
        this.settleCancel = undefined
        if (this.stopped || this.pending.size === 0) return
        for (const n of this.pending) this.settled.add(n)
        this.pending.clear()
        this.opts.onSettled?.()
      })
    }
    const owners = live.filter((n) => this.settled.has(n))
    return owners.length > 0 ? owners : live
  }
}
