/**
 * Health observations: a map of last-writer-wins registers, one per target id,
 * ordered by the strict total order (ownership term, HLC, writer node name) —
 * Shapiro et al. 2011's LWW-register, with the
 * term in front as a fencing token. The join of a key is the greatest value
 * either side holds, whatever the causal contexts say (this module registers
 * it with the dot store as the join rule of HEALTH_PREFIX), so a write never
 * removes another's dot and a health delta never waits for an earlier one: a
 * status change is joined the moment it arrives, however many of its origin's
 * other deltas are still on their way.
 * Removal is a tombstone value (o: null) that wins the order like any write.
 *
 * A write that would lose to what this replica already shows is refused at the
 * source: a stale former owner (lower term) is fenced out even when it has seen
 * the new owner's write and its wall clock runs ahead.
 */
import { type DeltaBuilder, type Entry, registerJoinRule } from './dot-store.ts'
import { compareHlc, isHlcStamp, type HlcStamp } from './hlc.ts'
import { cmpStr } from './registry-map.ts'
import type { Replica } from './replica.ts'

export const HEALTH_PREFIX = 'h/'

export interface HealthValue {
  /** The observation, opaque here ({status, since, last, term, owner, ...}); null is a tombstone. */
  o: unknown
  /** Ownership term of the writer when it wrote. */
  term: number
  t: HlcStamp
  /** Writer node name: the last tie-breaker. */
  w: string
}

const val = (e: Entry) => e.v as HealthValue

/** Keys joined as registers (greatest value wins) rather than by causal removal. */
export function isRegisterKey(k: string): boolean {
  return k.startsWith(HEALTH_PREFIX)
}

export function isHealthValue(v: unknown): v is HealthValue {
  const x = v as HealthValue
  return (
    typeof x === 'object' &&
    x !== null &&
    'o' in x &&
    Number.isSafeInteger(x.term) &&
    x.term >= 0 &&
    isHlcStamp(x.t) &&
    typeof x.w === 'string' &&
    x.w.length <= 256
  )
}

export function compareHealth(a: HealthValue, b: HealthValue): number {
  return a.term - b.term || compareHlc(a.t, b.t) || cmpStr(a.w, b.w)
}

/** Register order on entries: the value's, then the dot's (equal values under two dots: a re-mint). */
export function compareRegister(a: Entry, b: Entry): number {
  return compareHealth(val(a), val(b)) || cmpStr(a.r, b.r) || a.n - b.n
}

/** The join of a register key: the greatest entry of either side; returns `a` itself when it already is that. */
export function joinRegister(a: Entry[], b: Entry[]): Entry[] {
  let best: Entry | undefined
  for (const e of a) if (!best || compareRegister(e, best) > 0) best = e
  for (const e of b) if (!best || compareRegister(e, best) > 0) best = e
  if (!best) return a
  const only = a.length === 1 ? (a[0] as Entry) : undefined
  if (only && only.r === best.r && only.n === best.n) return a
  return [best]
}

registerJoinRule(HEALTH_PREFIX, joinRegister)

/** The winning value, tombstones included. */
export function healthWinner(entries: Entry[]): HealthValue | undefined {
  let best: Entry | undefined
  for (const e of entries) if (!best || compareRegister(e, best) > 0) best = e
  return best && val(best)
}

/** The winning observation, or undefined when there is none or it is a tombstone. */
export function healthObservation(entries: Entry[]): unknown {
  return healthWinner(entries)?.o ?? undefined
}

/** Writes an observation unless it loses to the current winner; returns whether it was written. */
export function healthWrite(rep: Replica, b: DeltaBuilder, id: string, value: HealthValue): boolean {
  const cur = healthWinner(rep.entries(HEALTH_PREFIX + id))
  if (cur && compareHealth(cur, value) >= 0) return false
  b.write(HEALTH_PREFIX + id, [], { v: value })
  return true
}

/** Removes a target's health: a tombstone that outranks what this replica shows (same term, later HLC). */
export function healthRemove(rep: Replica, b: DeltaBuilder, id: string, t: HlcStamp, w: string): boolean {
  const cur = healthWinner(rep.entries(HEALTH_PREFIX + id))
  if (!cur || cur.o === null) return false
  const tomb: HealthValue = { o: null, term: cur.term, t, w }
  if (compareHealth(tomb, cur) <= 0) return false
  b.write(HEALTH_PREFIX + id, [], { v: tomb })
  return true
}
