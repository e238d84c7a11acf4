/**
 * What a node does with each check result of a target it owns: rise/fall (HAProxy's
 * thresholds, poller/rise-fall.ts), the local ring of recent results, history, the
 * write to the shared state (at once on a status change, else at a slow refresh
 * cadence), the webhook alert, and the log line. One owner per target, so each
 * change is written and announced once, not once per node.
 */
import { nextIncident } from '../alerts/incident.ts'
import { onChange, settled } from '../alerts/flap.ts'
import type { CheckResult, Status, Target } from '../config/types.ts'
import type { HistoryStore } from '../history/history.ts'
import type { ProbeOutcome } from '../poller/prober.ts'
import { nextHealth, type HealthState } from '../poller/rise-fall.ts'
import type { Clock } from '../seams/clock.ts'
import type { Logger } from '../seams/log.ts'
import type { Rng } from '../seams/rng.ts'
import { RecentResults } from './recent-results.ts'
import type { Confirmation, HealthRecord, StateStore } from './state-store.ts'

/**
 * The shortest time (ms) between two writes of one push target's record for a new
 * heartbeat alone (a status change is written at once). Each is one replicated write,
 * and gossip carries about 130 a second per node (bench/push.ts: at two a second per
 * target, 90 targets pushed in a loop queued seconds of writes). Lower shows a
 * heartbeat in a burst sooner; higher spares gossip.
 */
export const PUSH_WRITE_MS = 1000

export interface ResultOptions {
  self: string
  clock: Clock
  /** For spreading refreshes (0.5–1.5 × lastResultRefreshMs). */
  rng: Rng
  state: StateStore
  log: Logger
  history?: HistoryStore
  /**
   * How often (ms) a target's latest result is written to the shared state when its
   * status has not changed; status changes are written at once. Every write reaches every
   * node by gossip, and the piggyback budget (about 20 KiB/s per node on lan) is shared
   * with the status changes that matter, so refreshes must stay rare: at 2,000 targets a
   * 30 s refresh saturated it and held status changes back by seconds (16 agents). Lower
   * means fresher `last` results on nodes that do not check the target. Default 300000.
   */
  lastResultRefreshMs?: number
  /** The ownership term this node writes a target under, or undefined when it does not own it now. */
  termOf(id: string): number | undefined
  /** Told the wall time of each result that was not written to the shared state. */
  onUnwritten(at: number): void
  /** Asks other nodes to probe a target that failed here (confirm: N); see HeckNode. Without it, confirm is 1. */
  confirm?(t: Target): Promise<{ saw: Record<string, string>; outcome: Confirmation['outcome'] }>
  /** Told the outcome of each confirmation (metrics). */
  onConfirmation?(outcome: Confirmation['outcome']): void
}

export class ResultHandler {
  readonly recent = new RecentResults()
  /** Rise/fall state of the targets this node checks, from their first result on. */
  private readonly local = new Map<string, HealthState>()
  /** Per target: when its latest result is next written to the shared state, status unchanged. */
  private readonly nextRefreshAt = new Map<string, number>()
  private readonly refreshMs: number
  /** Push targets: when a new heartbeat was last written to the shared state (wall ms). */
  private readonly pushWrittenAt = new Map<string, number>()
  /** Targets whose confirmation is in flight. */
  private readonly confirming = new Set<string>()

  constructor(private readonly o: ResultOptions) {
    this.refreshMs = o.lastResultRefreshMs ?? 300_000
  }

  /** This node's own rise/fall state for a target it checks, if it has checked it yet. */
  localHealth(id: string): HealthState | undefined {
    return this.local.get(id)
  }

  /** Starts a target over from the shared record (taken over, or no longer this node's). */
  restart(id: string): void {
    this.local.delete(id)
    this.nextRefreshAt.delete(id)
  }

  /** Forgets everything about a removed target. */
  forget(id: string): void {
    this.restart(id)
    this.pushWrittenAt.delete(id)
    this.recent.delete(id)
  }

  handle(target: Target, o: ProbeOutcome): void {
    const { clock, state } = this.o
    const term = this.o.termOf(target.id)
    if (term === undefined || !state.target(target.id)) return
    const now = clock.now()
    const result: CheckResult = {
      ok: o.ok,
      latency_ms: Math.round(o.latencyMs * 100) / 100,
      checked_at: now,
      checker: this.o.self,
      ...(o.statusCode !== undefined ? { status_code: o.statusCode } : {}),
      ...(o.error !== undefined ? { error: o.error } : {}),
      ...(o.pushedAt !== undefined ? { pushed_at: o.pushedAt } : {}),
    }
    this.recent.add(target.id, result)
    const prevRecord = state.health(target.id)
    const prev = this.local.get(target.id) ?? {
      status: prevRecord?.status ?? 'unknown',
      since: prevRecord?.since ?? now,
      okStreak: 0,
      failStreak: 0,
    }
    let next = nextHealth(prev, o.ok, { rise: target.rise, fall: target.fall }, now)
    this.o.history?.recordCheck(target.id, result)
    // confirm: N — the owner alone does not declare it unhealthy; other nodes are asked first.
    if ((target.confirm ?? 1) > 1 && this.o.confirm && next.status === 'unhealthy' && prev.status !== 'unhealthy') {
      next = { ...next, status: prev.status, since: prev.since }
      if (!this.confirming.has(target.id)) this.startConfirmation(target, result, o.error)
    }
    this.local.set(target.id, next)
    this.commit(target, prevRecord, prev, next, result, now, term, o.error, o.pushedAt)
  }

  /** Asks other nodes to probe at once; commits `unhealthy` if enough of them saw it fail. */
  private startConfirmation(target: Target, result: CheckResult, error: string | undefined): void {
    const id = target.id
    this.confirming.add(id)
    void (this.o.confirm as NonNullable<ResultOptions['confirm']>)(target)
      .then((c) => {
        const term = this.o.termOf(id)
        const cur = this.local.get(id)
        const rec = this.o.state.health(id)
        if (term === undefined || !cur || !this.o.state.target(id)) return
        this.o.onConfirmation?.(c.outcome)
        const confirmation: Confirmation = { at: this.o.clock.now(), saw: c.saw, outcome: c.outcome }
        // Still failing here, and enough nodes agree: unhealthy now, with who saw it.
        if (c.outcome !== 'disagreed' && cur.failStreak >= target.fall && cur.status !== 'unhealthy') {
          const now = this.o.clock.now()
          const next = { ...cur, status: 'unhealthy' as const, since: now }
          this.local.set(id, next)
          const by = Object.entries(c.saw).filter(([, v]) => v === 'fail').map(([n]) => n).sort()
          this.commit(target, rec, cur, next, result, now, term, error, undefined, { confirmation, confirmedBy: by })
          return
        }
        if (c.outcome === 'disagreed') {
          this.o.log('warn', 'target seen failing from one place only: status kept (trouble near the checker, not at the target?)', { target: id, saw: c.saw })
          if (rec) this.o.state.observe({ ...rec, owner: this.o.self, term, confirmation })
        }
      })
      .catch((e) => this.o.log('warn', 'confirmation failed', { target: id, error: String(e) }))
      .finally(() => this.confirming.delete(id))
  }

  /** Writes what changed to the shared state, history and log. */
  private commit(
    target: Target,
    prevRecord: HealthRecord | undefined,
    prev: HealthState,
    next: HealthState,
    result: CheckResult,
    now: number,
    term: number,
    error: string | undefined,
    pushedAt: number | undefined,
    confirmed?: { confirmation: Confirmation; confirmedBy: string[] },
  ): void {
    const { state } = this.o
    const changed = next.status !== prev.status
    if (changed) this.o.history?.recordTransition(target.id, prev.status, next.status, now)
    // Refreshes are spread (0.5–1.5 × the period) so targets that turned healthy together
    // do not all write again in the same second.
    const refreshAt = this.nextRefreshAt.get(target.id)
    const due = refreshAt !== undefined && now >= refreshAt
    if (changed || due || refreshAt === undefined) {
      this.nextRefreshAt.set(target.id, now + this.refreshMs * (0.5 + this.o.rng.next()))
    }
    // The shared record may disagree without a local change: another node wrote it meanwhile.
    const stale = prevRecord ? prevRecord.status !== next.status || prevRecord.owner !== this.o.self : next.status !== 'unknown'
    // A push target's new heartbeat goes to every node at once (SPEC.md "Push heartbeats"),
    // at most once per PUSH_WRITE_MS per target: a job pushing in a loop must not flood gossip.
    const pushed = pushedAt !== undefined && pushedAt !== prevRecord?.last?.pushed_at && now - (this.pushWrittenAt.get(target.id) ?? -Infinity) >= PUSH_WRITE_MS
    if (pushed) this.pushWrittenAt.set(target.id, now)
    let { incident, flap, settledNow } = this.incidentAfter(target, prevRecord, prev.status, next.status, changed, now, error)
    if (confirmed && incident && incident.startedAt === now) incident = { ...incident, confirmedBy: confirmed.confirmedBy }
    const confirmation = confirmed?.confirmation ?? prevRecord?.confirmation
    if (changed || due || stale || pushed || settledNow) {
      state.observe({ id: target.id, status: next.status, since: next.since, owner: this.o.self, last: result, term, ...(incident ? { incident } : {}), ...(flap ? { flap } : {}), ...(confirmation ? { confirmation } : {}) })
    } else this.o.onUnwritten(now)
    if (changed) this.announce(target, prev.status, next.status, next.since, error)
  }

  /**
   * The incident and flap state after this result (carried in the record). Each change to
   * or from unhealthy starts or ends an incident (alerts/incident.ts), unless the target is
   * flapping (alerts/flap.ts): then the incident stays as it was announced, and when it
   * settles, the incident is made to say where it ended, which owes one notification.
   */
  private incidentAfter(target: Target, rec: HealthRecord | undefined, from: Status, to: Status, changed: boolean, now: number, error: string | undefined) {
    let incident = rec?.incident
    let flap = target.flap ? rec?.flap : undefined
    let settledNow = false
    if (changed) {
      // A first verdict (from unknown) is not a flap.
      if (target.flap && from !== 'unknown') flap = onChange(flap, target.flap, now)
      if (flap?.since === undefined) incident = nextIncident(incident, target.id, from, to, now, error)
    } else if (target.flap && flap?.since !== undefined && settled(flap, target.flap, now)) {
      flap = { changes: flap.changes }
      settledNow = true
      const open = incident !== undefined && incident.endedAt === undefined
      if (to === 'unhealthy' && !open) incident = nextIncident(undefined, target.id, 'healthy', 'unhealthy', now, error)
      else if (to === 'healthy' && open && incident) incident = { ...incident, endedAt: now }
      this.o.log('info', 'target stopped flapping', { target: target.id, status: to })
    }
    if (changed && flap?.since === now) this.o.log('info', 'target is flapping; notifications held until it settles', { target: target.id, changes: flap.changes.length })
    return { incident, flap, settledNow }
  }

  private announce(target: Target, from: Status, to: Status, _since: number, error: string | undefined): void {
    // Notifications follow from the incident in the record (node/notifier.ts).
    // A first verdict (from `unknown`) is routine and comes for every target at start-up:
    // 10,000 info lines at once would stall the loop, so those go to debug.
    this.o.log(from === 'unknown' ? 'debug' : 'info', 'target status changed', { target: target.id, from, to, error })
  }
}
