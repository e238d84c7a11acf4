/**
 * Urgent news: which changes jump the queue, decided here once. A target's
 * status change is news; a first verdict is not (a start-up would flood), nor
 * is a refresh of the same status, nor an old change that a repair brings in
 * bulk. What news gets, where it happens:
 * - its delta ships at once, ahead of everything queued, for all its transmits
 *   (DeltaQueue's urgent lane): where it is written (ReplicatedState) and at
 *   every relay, however it came there, a sync reply included (causal-delivery.ts);
 * - membership is asked for a gossip round soon (the delegate's attach, then
 *   SwimConfig.urgentGossipDelayMs), rather than at the next routine round;
 * - held behind a causal gap, the replicas it waits on are asked at once, at
 *   most once per urgentPullIntervalMs each (UrgentPulls, gossip-delegate.ts).
 * memberlist's queue has no such lane: a health checker's news is the status
 * change people wait for, and it must not queue behind thousands of refreshes.
 */
import type { Delta } from './dot-store.ts'
import { HEALTH_PREFIX } from './health-map.ts'

/** How old (ms, by the change's `since`) a change may be and still count as news where its former status never arrived. */
export const NEWS_MAX_AGE_MS = 30_000

/**
 * A status change, as seen by a replica that showed `shown` before: a status other than
 * the one shown, or, where nothing was shown yet, a recent one whose writer says it
 * changed (`was`). Old changes that a repair brings in bulk are not news: relayed ahead
 * of everything, they would crowd out the changes happening now.
 */
export function isStatusChange(o: { status?: unknown; was?: unknown; since?: unknown }, shown: string | undefined, nowMs: number): boolean {
  if (o.status === undefined) return false
  if (shown !== undefined) return o.status !== shown
  return typeof o.was === 'string' && o.was !== o.status && typeof o.since === 'number' && nowMs - o.since < NEWS_MAX_AGE_MS
}

/** The status shown per health key, to tell a status change (news) from a refresh. */
export class StatusNews {
  private readonly shown = new Map<string, string>()

  /** `nowMs` is wall time (the Clock seam's now()): observations carry wall-time `since`. */
  constructor(private readonly nowMs: () => number) {}

  /** Records the observation now shown under health key `key` (undefined: none); true when it is news. */
  show(key: string, health: { status: string; was?: unknown; since?: unknown } | undefined): boolean {
    const before = this.shown.get(key)
    if (health) this.shown.set(key, health.status)
    else this.shown.delete(key)
    return health !== undefined && isStatusChange(health, before, this.nowMs())
  }

  /** True when `d` carries a health status different from the one shown here (news, not a refresh). */
  inDelta(d: Pick<Delta, 'store'>): boolean {
    for (const [k, es] of d.store) {
      if (!k.startsWith(HEALTH_PREFIX)) continue
      for (const e of es) {
        const o = (e.v as { o?: { status?: unknown; was?: unknown; since?: unknown } }).o
        if (o && isStatusChange(o, this.shown.get(k), this.nowMs())) return true
      }
    }
    return false
  }
}

/** Urgent pulls, at most one per replica per `intervalMs`, so news behind a gap costs a bounded number of syncs. */
export class UrgentPulls {
  private readonly at = new Map<string, number>()

  constructor(private readonly intervalMs: number) {}

  /** True (and remembered) when `replica` may be pulled now (`nowMs`: monotonic). */
  allow(replica: string, nowMs: number): boolean {
    if (nowMs - (this.at.get(replica) ?? Number.NEGATIVE_INFINITY) < this.intervalMs) return false
    // Bounded: past this many replicas, forgetting them only allows an early pull.
    if (this.at.size >= 1024) this.at.clear()
    this.at.set(replica, nowMs)
    return true
  }
}
