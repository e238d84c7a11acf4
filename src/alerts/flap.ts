/**
 * Flap damping: a target that changes state more than `changes` times within
 * `withinMs` is flapping, and its notifications are held until it has been stable
 * for `settleMs`; then one notification says where it ended. The check result and
 * the state stay separate (rise/fall already smooths single results); this damps the
 * state changes themselves, as Nagios' flap detection and Consul users' requests
 * (#1208, #9283) describe. The history it needs (recent change times) travels in
 * the target's replicated health record, so a new owner carries on. Pure.
 */

/** `changes` state changes within `withinMs` above which the target is flapping (0: off); `settleMs` without a change ends it. */
export type { FlapPolicy } from '../config/types.ts'
import type { FlapPolicy } from '../config/types.ts'

/** The flap state carried in a health record. */
export interface FlapState {
  /** Wall-clock ms of recent state changes, oldest first, at most changes + 1 of them. */
  changes: number[]
  /** Since when (ms) the target is flapping; absent when it is not. */
  since?: number
}

export const NO_FLAP: FlapState = { changes: [] }

/** The flap state after a state change at `nowMs`. */
export function onChange(prev: FlapState | undefined, p: FlapPolicy, nowMs: number): FlapState {
  if (p.changes <= 0) return NO_FLAP
  const recent = [...(prev?.changes ?? []), nowMs].filter((t) => nowMs - t <= p.withinMs).slice(-(p.changes + 1))
  const flapping = prev?.since !== undefined || recent.length > p.changes
  return { changes: recent, ...(flapping ? { since: prev?.since ?? nowMs } : {}) }
}

/** True when a flapping target has gone `settleMs` without a change at `nowMs`: flapping ends. */
export function settled(s: FlapState | undefined, p: FlapPolicy, nowMs: number): boolean {
  if (s?.since === undefined) return false
  const last = s.changes[s.changes.length - 1] ?? s.since
  return nowMs - last >= p.settleMs
}

/** Checks a flap state read from a peer; undefined when it is not one. */
export function asFlapState(v: unknown): FlapState | undefined {
  if (typeof v !== 'object' || v === null) return undefined
  const o = v as { changes?: unknown; since?: unknown }
  if (!Array.isArray(o.changes) || o.changes.length > 1000 || !o.changes.every((t) => typeof t === 'number')) return undefined
  if (o.since !== undefined && typeof o.since !== 'number') return undefined
  return { changes: o.changes as number[], ...(typeof o.since === 'number' ? { since: o.since } : {}) }
}
