/**
 * The rise/fall state machine (SPEC.md "Health model"; HAProxy `rise`/`fall`,
 * Kubernetes `successThreshold`/`failureThreshold`). It keeps the check result
 * and the status apart, so one lost packet does not flap a target: the status
 * changes only after `rise` consecutive successes or `fall` consecutive failures.
 * Pure: the caller owns the state and the clock.
 */
import type { Status } from '../config/types.ts'

export interface HealthState {
  status: Status
  /** Wall-clock ms of the last status change (or of first sight while `unknown`). */
  since: number
  /** Consecutive successful checks, up to and including the latest. */
  okStreak: number
  /** Consecutive failed checks, up to and including the latest. */
  failStreak: number
}

export interface Thresholds {
  /** Consecutive successes before healthy; ≥ 1. */
  rise: number
  /** Consecutive failures before unhealthy; ≥ 1. */
  fall: number
}

/** The state before any check: unknown since `now`. */
export function initialHealth(now: number): HealthState {
  return { status: 'unknown', since: now, okStreak: 0, failStreak: 0 }
}

/** The state after one more check result `ok`, observed at wall time `now`. */
export function nextHealth(prev: HealthState, ok: boolean, t: Thresholds, now: number): HealthState {
  const okStreak = ok ? prev.okStreak + 1 : 0
  const failStreak = ok ? 0 : prev.failStreak + 1
  let status: Status = prev.status
  // Thresholds below 1 would make a status change without any evidence; treat them as 1.
  if (ok && status !== 'healthy' && okStreak >= Math.max(1, t.rise)) status = 'healthy'
  else if (!ok && status !== 'unhealthy' && failStreak >= Math.max(1, t.fall)) status = 'unhealthy'
  return { status, since: status === prev.status ? prev.since : now, okStreak, failStreak }
}
