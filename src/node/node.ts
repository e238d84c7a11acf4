/**
 * One heck node, wired from its parts (docs/ARCHITECTURE.md): the state store
 * (targets and health, gossip or etcd behind one interface), the ownership policy
 * (ownership/assignment.ts: who checks what), the poller (checks what this node
 * owns), result handling (results.ts) and the views the API, CLI and TUI read.
 * Real I/O stays outside: the node gets its Clock, Rng, Prober, logger and stores
 * from the caller.
 */
import type { Status, Target } from '../config/types.ts'
import type { Clock } from '../seams/clock.ts'
import type { Rng } from '../seams/rng.ts'
import type { Logger } from '../seams/log.ts'
import type { Prober } from '../poller/prober.ts'
import type { Registry } from '../metrics/registry.ts'
import { Scheduler } from '../poller/scheduler.ts'
import { EventBus } from './event-bus.ts'
import { LocalState } from './local-state.ts'
import type { HealthRecord, StateStore } from './state-store.ts'
import type { MemberView, TargetDetail, TargetHealth } from './types.ts'
import type { HistoryStore } from '../history/history.ts'
import { OwnerAssignment, takeoverTerm } from '../ownership/assignment.ts'
import { SoloCluster, type ClusterView } from './cluster-view.ts'
import { Notifier, type NotificationSink } from './notifier.ts'
import { asSilence, type Silence } from '../alerts/silence.ts'
import { ResultHandler } from './results.ts'
import { STORY_TRANSITIONS, tellStory, type AskPeer, type HistoryPart } from './story.ts'
import { PushLedger, type Heartbeat } from './push-ledger.ts'
import { PushRouter, type ForwardPush } from './push-router.ts'
import type { ProbeOutcome } from '../poller/prober.ts'

/** Asks `member` to probe target `id` once and say what it saw. */
export type ProbePeer = (member: MemberView, id: string, timeoutMs: number) => Promise<ProbeOutcome>

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
  /** See ResultOptions.lastResultRefreshMs (results.ts). Default 300000. */
  lastResultRefreshMs?: number
  /** Asks a member for its part of a target's story (GET /v1/targets/:id/part); without it, answers are this node's own. */
  askPeer?: AskPeer
  /** Hands a push heartbeat to another member (push-router.ts); without it, pushes stay on this node. */
  forwardPush?: ForwardPush
  /** Asks a member to probe a target once, now (confirm: N); without it, targets are confirmed by their owner alone. */
  probePeer?: ProbePeer
  /** Membership as this node sees it; a cluster of one when absent. */
  cluster?: ClusterView
  /** Delivers notifications (webhooks, Alertmanager) for the incidents of targets this node checks. */
  alerts?: NotificationSink
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
  /** See AssignmentOptions.joinSettleMs (ownership/assignment.ts). Default 0. */
  joinSettleMs?: number
  /** See AssignmentOptions.joining. */
  joining?: boolean
}

/**
 * How long (ms) registry changes are gathered before the node re-plans what it checks.
 * A peer's registry arrives delta by delta, and re-planning every target per delta cost
 * a 50-agent × 2,000-target simulation most of its CPU (now only the changed targets
 * are looked at, in batches). A new target's first check comes at most this much later.
 */
const REGISTRY_BATCH_MS = 50

/**
 * The shortest time (ms) between two immediate judgements of one push target on a
 * push; the scheduled one runs every second anyway. Each judgement with a new
 * heartbeat is one replicated write, and gossip carries about 130 such writes a
 * second per node (bench/push.ts: at 250 ms, 100 targets pushed in a tight loop
 * queued seconds of writes). At 1000, a job pushing in a loop costs one write a
 * second, and a lone push still shows at once. Lower shows bursts sooner.
 */
const PUSH_JUDGE_MS = 1000

export class HeckNode {
  readonly name: string
  readonly bus = new EventBus()
  readonly state: StateStore
  private readonly clock: Clock
  private readonly scheduler: Scheduler
  private readonly results: ResultHandler
  private readonly history?: HistoryStore
  private newestAt: number | null = null
  private readonly cluster: ClusterView
  private readonly assignment: OwnerAssignment
  /** Targets this node checks now, with the ownership term it writes under. */
  private owned = new Map<string, number>()
  /** When the pending reconcile runs (monotonic ms), and how to cancel it. */
  private reconcileAt: number | undefined
  private reconcileCancel?: () => void
  /** Targets whose definitions changed since the last reconcile; undefined when every target needs a look. */
  private changedTargets: Set<string> | undefined
  private stopped = false
  private unsubscribe: () => void
  private unsubscribeCluster: () => void

  private readonly askPeer?: AskPeer
  private readonly prober: Prober
  private readonly pushes = new PushLedger()
  private readonly pushJudgedAt = new Map<string, number>()
  private readonly pushRouter: PushRouter
  private readonly notifier?: Notifier

  constructor(opts: NodeOptions) {
    this.askPeer = opts.askPeer
    this.prober = opts.prober
    this.name = opts.name
    this.clock = opts.clock
    this.history = opts.history
    this.state = opts.state ?? new LocalState()
    this.cluster = opts.cluster ?? new SoloCluster(opts.name)
    this.assignment = new OwnerAssignment({
      self: opts.name,
      clock: opts.clock,
      replicas: opts.replicas,
      joinSettleMs: opts.joinSettleMs,
      joining: opts.joining,
      knownBeforeJoin: () => this.cluster.knownBeforeJoin?.() ?? false,
      onSettled: () => this.refreshMembers(),
    })
    this.results = new ResultHandler({
      self: opts.name,
      clock: opts.clock,
      rng: opts.rng.fork('refresh'),
      state: this.state,
      log: opts.log,
      history: opts.history,
      lastResultRefreshMs: opts.lastResultRefreshMs,
      termOf: (id) => (this.stopped ? undefined : this.owned.get(id)),
      ...(opts.probePeer ? { confirm: (t: Target) => this.confirm(t, opts.probePeer as ProbePeer) } : {}),
      onConfirmation: (outcome) => opts.metrics.counter('heck_confirmations_total', 'Confirmations from other nodes (confirm: N), by outcome: confirmed, disagreed, too few').inc({ outcome }),
      onUnwritten: (at) => {
        if (this.newestAt === null || at > this.newestAt) this.newestAt = at
      },
    })
    this.refreshMembers()
    this.unsubscribeCluster = this.cluster.onChange(() => this.refreshMembers())
    this.scheduler = new Scheduler({
      clock: opts.clock,
      rng: opts.rng.fork('scheduler'),
      // Push targets are judged here from the heartbeats; the rest go out to the prober.
      prober: { probe: (t, signal) => (t.check.kind === 'push' ? Promise.resolve(this.judgePush(t)) : opts.prober.probe(t, signal)) },
      metrics: opts.metrics,
      maxConcurrent: opts.maxConcurrentChecks ?? 1024,
      coalesceMaxMs: opts.checkCoalesceMaxMs ?? 100,
      onResult: (t, o) => {
        if (!o.pending) this.results.handle(t, o)
      },
    })
    this.pushRouter = new PushRouter({
      self: opts.name,
      owners: (id) => this.owners(id),
      members: () => this.peers(),
      ledger: this.pushes,
      forward: opts.forwardPush,
    })
    if (opts.alerts) {
      this.notifier = new Notifier({
        self: opts.name,
        clock: opts.clock,
        log: opts.log,
        metrics: opts.metrics,
        state: this.state,
        sink: opts.alerts,
        termOf: (id) => (this.stopped ? undefined : this.owned.get(id)),
        owned: () => this.owned.keys(),
      })
    }
    this.unsubscribe = this.state.onChange((c) => {
      if (c.kind === 'target') {
        if (c.action === 'removed') {
          this.results.forget(c.id)
          this.pushes.forget(c.id)
          this.pushJudgedAt.delete(c.id)
          this.assignment.forget(c.id)
        }
        this.bus.emit({ type: 'target', id: c.id, action: c.action })
        this.changedTargets?.add(c.id)
        this.scheduleReconcile(REGISTRY_BATCH_MS)
      } else if (c.kind === 'record') {
        // A silence added or lifted: what is owed may have changed.
        this.notifier?.sweep()
      } else {
        const at = c.record.last?.checked_at
        if (at !== undefined && (this.newestAt === null || at > this.newestAt)) this.newestAt = at
        // Another node wrote a target this node checks, under a term at least ours: it held the
        // target while this node was suspected or cut off. This node checks it again now, so its
        // next write must outrank that one (late writes from the old term stay fenced out).
        const term = this.owned.get(c.id)
        if (term !== undefined && c.record.owner !== this.name && c.record.term >= term) this.owned.set(c.id, c.record.term + 1)
        // No record before means the target was `unknown` (records are written from the first verdict on).
        this.notifier?.consider(c.id)
        const conf = c.record.confirmation
        if (conf && conf.outcome === 'disagreed' && conf.at !== c.previous?.confirmation?.at) {
          this.bus.emit({ type: 'confirmation', id: c.id, outcome: conf.outcome, saw: conf.saw })
        }
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
    metrics
      .gauge('heck_target_latency_seconds', 'Latency of the last check of each target this node checks (seconds); a target checked elsewhere is not listed here')
      .collect(() => {
        const out: Array<[{ target: string }, number]> = []
        for (const id of this.owned.keys()) {
          const last = this.results.recent.last(id)
          if (last) out.push([{ target: id }, last.latency_ms / 1000])
        }
        return out
      })
    for (const outcome of ['confirmed', 'disagreed', 'too few']) metrics.counter('heck_confirmations_total', 'Confirmations from other nodes (confirm: N), by outcome: confirmed, disagreed, too few').inc({ outcome }, 0)
    metrics.gauge('heck_targets_flapping', 'Targets flapping now (notifications held), as this node knows them').collect(() => {
      let n = 0
      for (const r of this.state.allHealth()) if (r.flap?.since !== undefined) n++
      return [[{}, n]]
    })
  }

  /** Applies the contents of this node's targets file (its own contribution). */
  applyFile(targets: Target[]): void {
    this.state.setFileTargets(this.name, targets)
  }

  /** Re-reads membership: emits member events for state changes and re-plans when who checks what changed. */
  private refreshMembers(): void {
    const before = this.assignment.memberStates()
    const members = this.cluster.members()
    for (const m of members) {
      const prev = before.get(m.name)
      if (prev !== m.state) this.bus.emit({ type: 'member', name: m.name, state: m.state, addr: m.addr, ...(prev ? { previous: prev } : {}) })
    }
    if (this.assignment.update(members)) {
      this.changedTargets = undefined // everything may move: the next reconcile walks every target
      this.scheduleReconcile(0)
    }
  }

  /** Owners of a target in priority order, computed from the live members alone. */
  owners(id: string): string[] {
    return this.assignment.owners(id)
  }

  /** The node that checks a target now: its first owner that is neither suspect nor dead. */
  checker(id: string): string | undefined {
    return this.assignment.checker(id)
  }

  /**
   * Coalesces bursts into one reconcile. Registry changes (a 10,000-line file, or a
   * peer's registry arriving delta by delta) are gathered for REGISTRY_BATCH_MS and the
   * reconcile looks at the changed targets only; a membership change reconciles at once
   * (a takeover must not wait) and walks every target.
   */
  private scheduleReconcile(delayMs: number): void {
    if (this.stopped) return
    const at = this.clock.monotonic() + delayMs
    if (this.reconcileAt !== undefined && this.reconcileAt <= at) return
    this.reconcileCancel?.()
    this.reconcileAt = at
    this.reconcileCancel = this.clock.after(delayMs, () => {
      this.reconcileAt = undefined
      this.reconcileCancel = undefined
      const changed = this.changedTargets
      this.changedTargets = new Set()
      if (!this.stopped) this.reconcile(changed)
    })
  }

  /**
   * Makes the poller check exactly the targets this node owns. A target taken over
   * from another node gets a higher ownership term, so the former owner's late
   * writes lose (fencing), and its status carries on from the replicated record.
   */
  reconcile(only?: ReadonlySet<string>): void {
    const next = new Map<string, number>()
    const takenOver = new Set<string>()
    let candidates: Iterable<Target>
    if (only) {
      // The owners of other targets did not change: keep them, and look at these alone.
      for (const [id, term] of this.owned) if (!only.has(id)) next.set(id, term)
      candidates = [...only].flatMap((id) => this.state.target(id) ?? [])
    } else candidates = this.state.targets()
    for (const t of candidates) {
      if (this.checker(t.id) !== this.name) continue
      let term = this.owned.get(t.id)
      if (term === undefined) {
        const rec = this.state.health(t.id)
        term = takeoverTerm(this.name, rec, this.state.retiredTerm?.(t.id) ?? 0)
        this.results.restart(t.id) // start from the shared record, not from what this node saw long ago
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
    for (const id of this.owned.keys()) if (!next.has(id)) this.results.restart(id)
    this.owned = next
    const mine = [...next.keys()].flatMap((id) => this.state.target(id) ?? [])
    this.scheduler.setTargets(mine, takenOver)
  }

  /**
   * A push heartbeat for a target (POST /v1/push/:id on any node): kept here when this node
   * is its first owner (or the push was forwarded here), else handed to the owners in
   * priority order. Resolves with the member that took it. When this node checks the
   * target, the heartbeat is judged at once, so every node sees it within one gossip hop.
   */
  async push(id: string, beat: Heartbeat, forwarded = false): Promise<string> {
    const heldBy = await this.pushRouter.push(id, beat, forwarded)
    const t = heldBy === this.name && this.owned.has(id) ? this.state.target(id) : undefined
    // Judged at once, at most every PUSH_JUDGE_MS per target: a job pushing in a tight loop
    // costs one replicated write per period, and the scheduled judgement catches the rest.
    const now = this.clock.monotonic()
    if (t && t.check.kind === 'push' && now - (this.pushJudgedAt.get(id) ?? -Infinity) >= PUSH_JUDGE_MS) {
      this.pushJudgedAt.set(id, now)
      this.results.handle(t, this.judgePush(t))
    }
    return heldBy
  }

  /**
   * confirm: N — this node saw `t` fail; the next owners in priority order (N - 1 of them,
   * live ones) probe it at once. Confirmed when N distinct nodes saw it fail; with fewer
   * live nodes than N, all there are must agree (`too few`).
   */
  private async confirm(t: Target, probePeer: ProbePeer): Promise<{ saw: Record<string, string>; outcome: 'confirmed' | 'disagreed' | 'too few' }> {
    const want = t.confirm ?? 1
    const live = new Map(this.peers().filter((m) => m.state === 'alive').map((m) => [m.name, m]))
    const asked = this.owners(t.id).filter((n) => n !== this.name && live.has(n)).slice(0, want - 1)
    // Beyond the owner list, any other live member (owners are only the first few).
    for (const m of live.values()) if (asked.length < want - 1 && m.name !== this.name && !asked.includes(m.name)) asked.push(m.name)
    const saw: Record<string, string> = { [this.name]: 'fail' }
    await Promise.all(
      asked.map(async (n) => {
        try {
          const o = await probePeer(live.get(n) as MemberView, t.id, t.timeoutMs + 1000)
          saw[n] = o.ok ? 'ok' : 'fail'
        } catch {
          saw[n] = 'no answer'
        }
      }),
    )
    const failed = Object.values(saw).filter((v) => v === 'fail').length
    if (asked.length + 1 < want) return { saw, outcome: failed === asked.length + 1 ? 'too few' : 'disagreed' }
    return { saw, outcome: failed >= want ? 'confirmed' : 'disagreed' }
  }

  /** Probes a target once, now, for another node's confirmation (POST /v1/targets/:id/probe). */
  async probeOnce(id: string): Promise<ProbeOutcome | undefined> {
    const t = this.state.target(id)
    if (!t || t.check.kind === 'push') return undefined
    const ac = new AbortController()
    const cancel = this.clock.after(t.timeoutMs, () => ac.abort())
    try {
      return await this.prober.probe(t, ac.signal)
    } catch (e) {
      return { ok: false, latencyMs: t.timeoutMs, error: e instanceof Error ? e.message : String(e) }
    } finally {
      cancel()
    }
  }

  /** Silences in force now (alerts/silence.ts), replicated like the registry. */
  silences(): Silence[] {
    const now = this.clock.now()
    return [...this.state.records('silence').values()].flatMap((v) => {
      const s = asSilence(v)
      return s && s.until > now ? [s] : []
    })
  }

  /** Adds or replaces a silence cluster-wide; resolves once the write is as safe as a target's. */
  putSilence(s: Silence): Promise<void> {
    return this.state.putRecord('silence', s.id, s)
  }

  /** Removes a silence; false when there was none in force. */
  async deleteSilence(id: string): Promise<boolean> {
    if (!this.state.records('silence').has(id)) return false
    await this.state.putRecord('silence', id, null)
    return true
  }

  /** A push target's state now, from the heartbeats here and the one its shared record names. */
  private judgePush(t: Target): ReturnType<PushLedger['evaluate']> {
    const last = this.state.health(t.id)?.last
    const recorded = last?.pushed_at !== undefined ? { at: last.pushed_at, ok: last.ok } : undefined
    return this.pushes.evaluate(t, this.clock.now(), recorded)
  }

  /** The health of every target; local results overlay the shared record for targets this node checks. */
  health(): TargetHealth[] {
    const out: TargetHealth[] = []
    for (const t of this.state.targets()) out.push(this.view(t.id))
    return out
  }

  private view(id: string): TargetHealth {
    const rec: HealthRecord | undefined = this.state.health(id)
    const mine = this.results.localHealth(id)
    const localLast = this.results.recent.last(id) ?? null
    const last = localLast && (!rec?.last || localLast.checked_at >= rec.last.checked_at) ? localLast : (rec?.last ?? null)
    const status: Status = mine?.status ?? rec?.status ?? 'unknown'
    return {
      id,
      status,
      since: mine?.since ?? rec?.since ?? this.clock.now(),
      owner: this.checker(id) ?? null,
      last,
      ...(rec?.flap?.since !== undefined ? { flapping: true as const } : {}),
      ...(rec?.confirmation ? { confirmation: rec.confirmation } : {}),
    }
  }

  target(id: string): TargetDetail | undefined {
    const def = this.state.target(id)
    if (!def) return undefined
    return {
      ...this.view(id),
      definition: def,
      owners: this.owners(id),
      recent: this.results.recent.get(id),
      ...this.historyOf(id),
    }
  }

  /** This node's own part of a target's story: what it checked itself (story.ts). */
  part(id: string): HistoryPart | undefined {
    if (!this.state.target(id)) return undefined
    const own: HistoryPart = { node: this.name, recent: this.results.recent.get(id), transitions: [] }
    if (!this.history) return own
    try {
      return { ...own, transitions: this.history.recentTransitions(id, STORY_TRANSITIONS), counts: this.history.windowCounts(id) }
    } catch (e) {
      return { ...own, error: e instanceof Error ? e.message : String(e) }
    }
  }

  /**
   * A target's whole story, from whichever members checked it (story.ts): the same answer
   * from any node. Without `askPeer` (a cluster of one, tests) it is this node's own.
   */
  async story(id: string): Promise<TargetDetail | undefined> {
    const local = this.target(id)
    const own = this.part(id)
    if (!local || !own || !this.askPeer) return local
    return tellStory(local, own, this.members(), this.name, this.askPeer)
  }

  /** A target's stored history; a history that cannot answer (damaged file, full disk) is said so, never thrown. */
  private historyOf(id: string): Pick<TargetDetail, 'transitions' | 'uptime' | 'history' | 'history_error'> {
    if (!this.history) return { transitions: [] }
    try {
      return { transitions: this.history.recentTransitions(id, STORY_TRANSITIONS), uptime: this.history.uptime(id) }
    } catch (e) {
      return { transitions: [], history: 'unavailable', history_error: e instanceof Error ? e.message : String(e) }
    }
  }

  /** Members without their owned counts (which cost a walk of every target): for routing pushes and probes. */
  private peers(): MemberView[] {
    return this.cluster.members().map((m) => ({ ...m, owned: 0 }))
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
    this.notifier?.stop()
    this.reconcileCancel?.()
    this.assignment.stop()
    this.unsubscribe()
    this.unsubscribeCluster()
    await this.scheduler.stop()
    this.history?.close()
  }
}
