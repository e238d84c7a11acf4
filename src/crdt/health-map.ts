/**
 * Health observations: a map of registers, one per target id, whose concurrent
 * writes are resolved by the strict total order (ownership term, HLC, writer
 * node name) — RESEARCH.md "Replicated state". Each key holds the causally
 * unsuperseded entries (at most a few, one per concurrent writer); readers see
 * the greatest. A write that would lose to what this replica already shows is
 * refused at the source: a stale former owner (lower term) is fenced out even
 * when it has seen the new owner's write and its wall clock runs ahead.
 */
import type { DeltaBuilder, Entry } from './dot-store.ts'
import { compareHlc, isHlcStamp, type HlcStamp } from './hlc.ts'
import { cmpStr } from './registry-map.ts'
import type { Replica } from './replica.ts'

export const HEALTH_PREFIX = 'h/'

export interface HealthValue {
  /** The observation, opaque here ({status, since, last, term, owner, ...}). */
  o: unknown
  /** Ownership term of the writer when it wrote. */
  term: number
  t: HlcStamp
  /** Writer node name: the last tie-breaker. */
  w: string
}

const val = (e: Entry) => e.v as HealthValue

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

export function healthWinner(entries: Entry[]): HealthValue | undefined {
  let best: HealthValue | undefined
  for (const e of entries) if (!best || compareHealth(val(e), best) > 0) best = val(e)
  return best
}

/** Writes an observation unless it loses to the current winner; returns whether it was written. */
export function healthWrite(rep: Replica, b: DeltaBuilder, id: string, value: HealthValue): boolean {
  const seen = rep.entries(HEALTH_PREFIX + id)
  const cur = healthWinner(seen)
  if (cur && compareHealth(cur, value) >= 0) return false
  b.write(HEALTH_PREFIX + id, seen, { v: value })
  return true
}

export function healthRemove(rep: Replica, b: DeltaBuilder, id: string): boolean {
  const seen = rep.entries(HEALTH_PREFIX + id)
  if (seen.length === 0) return false
  b.write(HEALTH_PREFIX + id, seen)
  return true
}
