/**
 * One heck node, wired from its parts (DESIGN.md "The shape"): the state store
 * (targets and health), ownership (who checks what), the poller (checks what this
 * node owns) and the views the API, CLI and TUI read. Real I/O stays outside:
 * the node gets its Clock, Rng, Prober, logger and stores from the caller.
 */
import type { CheckResult, Status, Target } from '../config/types.ts'
import type { Clock } from '../seams/clock.ts'
import type { Rng } from '../seams/rng.ts'
import type { Logger } from '../seams/log.ts'
import type { Prober, ProbeOutcome } from '../poller/prober.ts'
import type { Registry } from '../metrics/registry.ts'
import { Scheduler } from '../poller/scheduler.ts'
import { nextHealth, type HealthState } from '../poller/rise-fall.ts'
import { EventBus } from './event-bus.ts'
import { LocalState } from './local-state.ts'
import { RecentResults } from './recent-results.ts'
import type { HealthRecord, StateStore } from './state-store.ts'
import type { MemberView, TargetDetail, TargetHealth } from './types.ts'
import type { HistoryStore } from '../history/history.ts'
import { OwnershipTable } from '../ownership/table.ts'
import { SoloCluster, type ClusterView } from './cluster-view.ts'
import type { MemberState } from './types.ts'
import type { AlertEvent } from '../alerts/webhooks.ts'

export interface NodeOptions {
  name: string
  clock: Clock
  rng: Rng
  prober: Prober
  metrics: Registry
  log: Logger
  /** Targets and health; LocalState (a cluster of one) unless a replicated store is given. */
  state?: StateStore
  /** Transition and per-minute history (SQLite) when --data-dir is set. */
  history?: HistoryStore
  /** Checks in flight at once across all targets. Higher finishes bursts sooner but costs sockets and memory. Default 1024. */
  maxConcurrentChecks?: number
  /**
   * How often (ms) a target's latest result is written to the shared state when its
   * status has not changed; status changes are written at once. Every write reaches every
   * node by gossip, and the piggyback budget (about 20 KiB/s per node on lan) is shared
   * with the status changes that matter, so refreshes must stay rare: at 2,000 targets a
   * 30 s refresh saturated it and held status changes back by seconds (16 agents). Lower
   * means fresher `last` results on nodes that do not check the target. Default 300000.
   */
  lastResultRefreshMs?: number
  /** Membership as this node sees it; a cluster of one when absent. */
  cluster?: ClusterView
  /** Sends webhook alerts for status changes this node observes as the owner. */
  alerts?: { send(e: AlertEvent): void }
  /** Owners listed per target, in priority order (the first live one checks). Default 3. */
  replicas?: number
  /**
   * The longest (ms) a check may be moved to share a timer wake-up with others (the
   * scheduler's coalesceMaxMs). An agent of a cluster checks a few hundred targets a
   * second, where each wake-up costs more CPU than the check; grouping them cut the CPU
   * per check 2-3× there (bench/agent-cost.ts). At 1 s intervals checks still
   * come exactly 1 s apart; a first check (new or taken-over target) comes up to this
   * much later. 0 turns grouping off. Default 100.
   */
  checkCoalesceMaxMs?: number
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
}

export class HeckNode {
  readonly name: string
  readonly bus = new EventBus()
  readonly state: StateStore
  private readonly clock: Clock
  private readonly log: Logger
  private readonly scheduler: Scheduler
  private readonly recent = new RecentResults()
  private readonly history?: HistoryStore
  private readonly local = new Map<string, HealthState>()
  /** Per target: when its latest result is next written to the shared state, status unchanged. */
  private readonly nextRefreshAt = new Map<string, number>()
  private readonly jitter: Rng
  private readonly lastResultRefreshMs: number
  private newestAt: number | null = null
  private readonly cluster: ClusterView
  private readonly table = new OwnershipTable()
  private readonly replicas: number
  private memberStates = new Map<string, MemberState>()
  private memberKey = ''
  /** Members that take part in ownership, live members not yet admitted (joinSettleMs), and the timer that admits them. */
  private readonly settled = new Set<string>()
  private pendingOwners = new Set<string>()
  private settleCancel?: () => void
  private metOthers = false
  /** The owners and which of them are alive, as of the last re-plan. */
  private checkKey: string | undefined
  /** Targets this node checks now, with the ownership term it writes under. */
  private owned = new Map<string, number>()
  private reconcilePending = false
  private stopped = false
  private unsubscribe: () => void
  private unsubscribeCluster: () => void

  constructor(private readonly opts: NodeOptions) {
    this.name = opts.name
    this.settled.add(opts.name)
    this.clock = opts.clock
    this.log = opts.log
    this.history = opts.history
    this.state = opts.state ?? new LocalState()
    this.lastResultRefreshMs = opts.lastResultRefreshMs ?? 300_000
    this.jitter = opts.rng.fork('refresh')
    this.cluster = opts.cluster ?? new SoloCluster(opts.name)
    this.replicas = opts.replicas ?? 3
    this.refreshMembers()
    this.unsubscribeCluster = this.cluster.onChange(() => this.refreshMembers())
    this.scheduler = new Scheduler({
      clock: opts.clock,
      rng: opts.rng.fork('scheduler'),
      prober: opts.prober,
      metrics: opts.metrics,
      maxConcurrent: opts.maxConcurrentChecks ?? 1024,
      coalesceMaxMs: opts.checkCoalesceMaxMs ?? 100,
      onResult: (t, o) => this.onResult(t, o),
    })
    this.unsubscribe = this.state.onChange((c) => {
      if (c.kind === 'target') {
        if (c.action === 'removed') {
          this.local.delete(c.id)
          this.recent.delete(c.id)
          this.nextRefreshAt.delete(c.id)
        }
        this.bus.emit({ type: 'target', id: c.id, action: c.action })
        this.scheduleReconcile()
      } else {
        const at = c.record.last?.checked_at
        if (at !== undefined && (this.newestAt === null || at > this.newestAt)) this.newestAt = at
        // Another node wrote a target this node checks, under a term at least ours: it held the
        // target while this node was suspected or cut off. This node checks it again now, so its
        // next write must outrank that one (late writes from the old term stay fenced out).
        const term = this.owned.get(c.id)
        if (term !== undefined && c.record.owner !== this.name && c.record.term >= term) this.owned.set(c.id, c.record.term + 1)
        // No record before means the target was `unknown` (records are written from the first verdict on).
        const previous = c.previous?.status ?? 'unknown'
        if (previous !== c.record.status) {
          this.bus.emit({
            type: 'health',
            id: c.id,
            status: c.record.status,
            previous,
            since: c.record.since,
            checker: c.record.owner,
            ...(c.record.last?.error ? { error: c.record.last.error } : {}),
          })
        }
      }
    })
    this.registerMetrics(opts.metrics)
  }

  private registerMetrics(metrics: Registry): void {
    metrics
      .gauge('heck_target_up', 'Target status as this node knows it: 1 healthy, 0 unhealthy, -1 unknown')
      .collect(() => this.health().map((h) => [{ target: h.id }, h.status === 'healthy' ? 1 : h.status === 'unhealthy' ? 0 : -1]))
  }

  /** Applies the contents of this node's targets file (its own contribution). */
  applyFile(targets: Target[]): void {
    this.state.setFileTargets(this.name, targets)
  }

  /**
   * Re-reads membership: emits member events for state changes, and re-keys
   * ownership when the set of members that can own (alive or suspect) changed.
   * A suspect member keeps its place in the lists (so a false suspicion moves
   * nothing for good) but does not check while suspected: the next owner does.
   */
  private refreshMembers(): void {
    const next = new Map<string, MemberState>()
    for (const m of this.cluster.members()) {
      next.set(m.name, m.state)
      const prev = this.memberStates.get(m.name)
      if (prev !== m.state) this.bus.emit({ type: 'member', name: m.name, state: m.state, addr: m.addr, ...(prev ? { previous: prev } : {}) })
    }
    if (!next.has(this.name)) next.set(this.name, 'alive')
    this.memberStates = next
    const owners = this.settledOwners([...next].filter(([, s]) => s === 'alive' || s === 'suspect').map(([n]) => n).sort())
    const key = owners.join('\n')
    // Who checks what depends only on the owners and which of them are alive: other member
    // news (an incarnation, metadata) must not re-plan every target.
    const checkKey = owners.map((n) => (next.get(n) === 'alive' ? n : `~${n}`)).join('\n')
    if (key !== this.memberKey) {
      this.memberKey = key
      this.table.setMembers(owners)
    }
    if (checkKey === this.checkKey) return
    this.checkKey = checkKey
    this.scheduleReconcile()
  }

  /** `live` (sorted) less the newcomers still waiting out joinSettleMs. */
  private settledOwners(live: string[]): string[] {
    const settle = this.opts.joinSettleMs ?? 0
    if (settle <= 0) return live
    const liveSet = new Set(live)
    // Departures apply at once; a member back later is a newcomer again.
    for (const n of this.settled) if (!liveSet.has(n)) this.settled.delete(n)
    for (const n of this.pendingOwners) if (!liveSet.has(n)) this.pendingOwners.delete(n)
    const firstMeeting = !this.metOthers && live.length > 1
    if (firstMeeting) {
      this.metOthers = true
      // A joiner waits for itself, as the others do for it, unless the cluster never saw it
      // gone (a quick restart): it is still an owner in everyone's table, and waiting would
      // leave its targets to nobody. A node without seeds waits for the members it meets.
      if (this.opts.joining && !this.cluster.knownBeforeJoin?.()) {
        this.settled.delete(this.name)
        this.pendingOwners.add(this.name)
      }
    }
    let arrived = firstMeeting && this.pendingOwners.has(this.name)
    for (const n of live) {
      if (this.settled.has(n) || this.pendingOwners.has(n)) continue
      if (firstMeeting && this.opts.joining) this.settled.add(n) // the cluster it joins owns at once
      else {
        this.pendingOwners.add(n)
        arrived = true
      }
    }
    if (arrived) {
      this.settleCancel?.()
      this.settleCancel = this.clock.after(settle, () => {
        this.settleCancel = undefined
        if (this.stopped || this.pendingOwners.size === 0) return
        for (const n of this.pendingOwners) this.settled.add(n)
        this.pendingOwners.clear()
        this.refreshMembers()
      })
    }
    const owners = live.filter((n) => this.settled.has(n))
    return owners.length > 0 ? owners : live
  }

  /** Owners of a target in priority order, computed from the live members alone. */
  owners(id: string): string[] {
    return this.table.ownersOf(id, this.replicas)
  }

  /** The node that checks a target now: its first owner that is neither suspect nor dead. */
  checker(id: string): string | undefined {
    return this.table.firstOwnerWhere(id, (m) => this.memberStates.get(m) === 'alive') ?? this.owners(id)[0]
  }

  /** The targets this node should check now. */
  private mine(): Target[] {
    return this.state.targets().filter((t) => this.checker(t.id) === this.name)
  }

  /** Coalesces bursts of registry changes (a 10,000-line file) into one reconcile. */
  private scheduleReconcile(): void {
    if (this.reconcilePending || this.stopped) return
    this.reconcilePending = true
    this.clock.after(0, () => {
      this.reconcilePending = false
      if (!this.stopped) this.reconcile()
    })
  }

  /**
   * Makes the poller check exactly the targets this node owns. A target taken over
   * from another node gets a higher ownership term, so the former owner's late
   * writes lose (fencing), and its status carries on from the replicated record.
   */
  reconcile(): void {
    const mine = this.mine()
    const next = new Map<string, number>()
    const takenOver = new Set<string>()
    for (const t of mine) {
      const rec = this.state.health(t.id)
      let term = this.owned.get(t.id)
      if (term === undefined) {
        term = !rec ? (this.state.retiredTerm?.(t.id) ?? 0) + 1 : rec.owner === this.name ? rec.term : rec.term + 1
        this.local.delete(t.id) // start from the shared record, not from what this node saw long ago
        this.nextRefreshAt.delete(t.id)
        // No record yet: nothing to write until the first verdict (a record saying `unknown`
        // for 10,000 new targets would only cost gossip). A record from another owner is
        // taken over at once under the new term, which fences out its late writes.
        if (rec && rec.owner !== this.name) {
          this.state.observe({ ...rec, owner: this.name, term })
          takenOver.add(t.id)
        }
      }
      next.set(t.id, term)
    }
    for (const id of this.owned.keys()) if (!next.has(id)) this.local.delete(id)
    this.owned = next
    this.scheduler.setTargets(mine, takenOver)
  }

  private onResult(target: Target, o: ProbeOutcome): void {
    if (this.stopped || !this.state.target(target.id) || !this.owned.has(target.id)) return
    const now = this.clock.now()
    const result: CheckResult = {
      ok: o.ok,
      latency_ms: Math.round(o.latencyMs * 100) / 100,
      checked_at: now,
      checker: this.name,
      ...(o.statusCode !== undefined ? { status_code: o.statusCode } : {}),
      ...(o.error !== undefined ? { error: o.error } : {}),
    }
    this.recent.add(target.id, result)
    const prevRecord = this.state.health(target.id)
    const prev = this.local.get(target.id) ?? {
      status: prevRecord?.status ?? 'unknown',
      since: prevRecord?.since ?? now,
      okStreak: 0,
      failStreak: 0,
    }
    const next = nextHealth(prev, o.ok, { rise: target.rise, fall: target.fall }, now)
    this.local.set(target.id, next)
    this.history?.recordCheck(target.id, result)
    const changed = next.status !== prev.status
    if (changed) this.history?.recordTransition(target.id, prev.status, next.status, now)
    // Refreshes are spread (0.5–1.5 × the period) so targets that turned healthy together
    // do not all write again in the same second.
    const refreshAt = this.nextRefreshAt.get(target.id)
    const due = refreshAt !== undefined && now >= refreshAt
    if (changed || due || refreshAt === undefined) {
      this.nextRefreshAt.set(target.id, now + this.lastResultRefreshMs * (0.5 + this.jitter.next()))
    }
    // The shared record may disagree without a local change: another node wrote it meanwhile.
    const stale = prevRecord ? prevRecord.status !== next.status || prevRecord.owner !== this.name : next.status !== 'unknown'
    if (changed || due || stale) {
      this.state.observe({
        id: target.id,
        status: next.status,
        since: next.since,
        owner: this.name,
        last: result,
        term: this.owned.get(target.id) ?? prevRecord?.term ?? 1,
      })
    } else if (this.newestAt === null || now > this.newestAt) {
      this.newestAt = now
    }
    if (changed) {
      // Only the owner gets here, so each change is announced once, not once per node.
      this.opts.alerts?.send({
        type: 'health',
        target: target.id,
        status: next.status,
        previous: prev.status,
        since: next.since,
        node: this.name,
        ...(o.error !== undefined ? { error: o.error } : {}),
        ...(target.check.kind === 'http' ? { url: target.check.url } : {}),
      })
      // A first verdict (from `unknown`) is routine and comes for every target at start-up:
      // 10,000 info lines at once would stall the loop, so those go to debug.
      this.log(prev.status === 'unknown' ? 'debug' : 'info', 'target status changed', {
        target: target.id,
        from: prev.status,
        to: next.status,
        error: o.error,
      })
    }
  }

  /** The health of every target; local results overlay the shared record for targets this node checks. */
  health(): TargetHealth[] {
    const out: TargetHealth[] = []
    for (const t of this.state.targets()) out.push(this.view(t.id))
    return out
  }

  private view(id: string): TargetHealth {
    const rec: HealthRecord | undefined = this.state.health(id)
    const mine = this.local.get(id)
    const localLast = this.recent.last(id) ?? null
    const last = localLast && (!rec?.last || localLast.checked_at >= rec.last.checked_at) ? localLast : (rec?.last ?? null)
    const status: Status = mine?.status ?? rec?.status ?? 'unknown'
    return {
      id,
      status,
      since: mine?.since ?? rec?.since ?? this.clock.now(),
      owner: this.checker(id) ?? null,
      last,
    }
  }

  target(id: string): TargetDetail | undefined {
    const def = this.state.target(id)
    if (!def) return undefined
    return {
      ...this.view(id),
      definition: def,
      owners: this.owners(id),
      recent: this.recent.get(id),
      transitions: this.history?.recentTransitions(id, 20) ?? [],
      ...(this.history ? { uptime: this.history.uptime(id) } : {}),
    }
  }

  members(): MemberView[] {
    const map = this.ownershipMap()
    return this.cluster.members().map((m) => ({ ...m, owned: map[m.name]?.length ?? 0 }))
  }

  /** Node → the targets it checks, as this node computes it. */
  ownershipMap(): Record<string, string[]> {
    const out: Record<string, string[]> = {}
    for (const t of this.state.targets()) {
      const c = this.checker(t.id)
      if (c) (out[c] ??= []).push(t.id)
    }
    return out
  }

  newestObservationAt(): number | null {
    return this.newestAt
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.settleCancel?.()
    this.unsubscribe()
    this.unsubscribeCluster()
    await this.scheduler.stop()
    this.history?.close()
  }
}
