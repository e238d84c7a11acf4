/**
 * Push heartbeats as the owner of a push target sees them (SPEC.md "Push
 * heartbeats"): a dead man's switch, as Healthchecks.io and Consul's TTL checks
 * keep one. Any node takes a push and hands it to the target's owners
 * (HeckNode.push); the owner records it here, and its evaluation, run by the
 * scheduler like a check, writes the newest push time into the target's replicated
 * health record (`last.pushed_at`). So a node that takes over after the owner dies
 * knows the last heartbeat from the record, and the deadline does not move.
 */
import type { PushCheck, Target } from '../config/types.ts'
import type { ProbeOutcome } from '../poller/prober.ts'
import { formatDuration } from '../config/duration.ts'

export interface Heartbeat {
  /** When it arrived (epoch ms). */
  at: number
  ok: boolean
  /** The job's message (`?msg=`), with a failure. */
  msg?: string
}


/** The longest `?msg=` kept; longer ones are cut, with "…". */
export const MAX_PUSH_MSG = 256

export class PushLedger {
  private readonly beats = new Map<string, Heartbeat>()
  /** When this node first evaluated a target that has had no push yet (epoch ms). */
  private readonly watchingSince = new Map<string, number>()

  /** A push this node is to keep: the newest one wins. */
  record(id: string, beat: Heartbeat): void {
    const have = this.beats.get(id)
    if (!have || beat.at >= have.at) this.beats.set(id, beat)
  }

  forget(id: string): void {
    this.beats.delete(id)
    this.watchingSince.delete(id)
  }

  /**
   * The target's state at `now`: ok while the newest push (here, or the one the
   * replicated record names) is within the grace; a push with `?status=fail` fails at
   * once. `pending` while nothing has arrived and the grace since watching has not passed.
   */
  evaluate(target: Target, now: number, recorded: Heartbeat | undefined): ProbeOutcome {
    const check = target.check as PushCheck
    const mine = this.beats.get(target.id)
    const last = mine && (!recorded || mine.at >= recorded.at) ? mine : recorded
    if (!last) {
      const since = this.watchingSince.get(target.id) ?? now
      this.watchingSince.set(target.id, since)
      if (now - since < check.graceMs) return { ok: true, latencyMs: 0, pending: true }
      return { ok: false, latencyMs: 0, error: `no push within ${formatDuration(check.graceMs)} (none since this node began watching)` }
    }
    this.watchingSince.delete(target.id)
    const age = now - last.at
    const outcome: ProbeOutcome = { ok: true, latencyMs: 0, pushedAt: last.at }
    if (age > check.graceMs) {
      outcome.ok = false
      outcome.error = `no push within ${formatDuration(check.graceMs)} (the last came ${formatDuration(age)} ago)`
    } else if (!last.ok) {
      outcome.ok = false
      outcome.error = last.msg ? `the job reported a failure: ${last.msg}` : 'the job reported a failure'
    }
    return outcome
  }
}
