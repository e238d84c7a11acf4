/**
 * The check scheduler (docs/ARCHITECTURE.md "The shape"). Each target runs on its own interval,
 * first checks spread uniformly over the interval (HAProxy `spread-checks`), on a
 * fixed grid: the next slot is the previous slot + interval, never completion +
 * interval, so there is no drift. A slot that comes while the target's previous
 * check is still running (or queued) is skipped, never burst later, so one target
 * never has two checks at once. A global cap bounds checks in flight; the excess
 * waits in a FIFO queue and the wait counts as schedule lag. Keep-alive HTTP checks
 * have a second, smaller cap (their own queue) matching the HTTP client's idle
 * connection pool, or reused connections would be closed and reopened.
 *
 * One min-heap of due times and a single Clock timer for the earliest one: 10,000
 * targets cost 10,000 small heap nodes, not 10,000 timers. All time comes from the
 * Clock seam, so tests drive it with SimClock.
 *
 * At low rates slots are grouped into shared timer wake-ups (`coalesceMaxMs`): each
 * wake-up of the process (timer, the HTTP client thread, the answer coming back) costs
 * far more than the check itself: a bare fetch loop at 125 checks/s cost ~370 µs of CPU
 * per check one at a time, ~136 µs 5 at a time and ~62 µs 25 at a time; bench/agent-cost.ts
 * measures whole agents. Slots sit on a grid of the grouping step, so a target whose
 * interval is a multiple of it starts on time.
 */
import type { Target } from '../config/types.ts'
import type { Cancel, Clock } from '../seams/clock.ts'
import type { Rng } from '../seams/rng.ts'
import type { BoundCounter, Histogram, Registry } from '../metrics/registry.ts'
import type { Prober, ProbeOutcome } from './prober.ts'
import { DueHeap } from './due-heap.ts'
import { Fifo } from './fifo.ts'

export interface CheckInfo {
  /** Monotonic ms of the slot the check belonged to. */
  scheduledAt: number
  /** Monotonic ms when the probe started. */
  startedAt: number
  /** startedAt - scheduledAt: timer lateness plus time spent queued behind the cap. */
  lagMs: number
}

export interface SchedulerOptions {
  clock: Clock
  /** Draws the first-check phase of each target. */
  rng: Rng
  prober: Prober
  metrics: Registry
  /**
   * Checks in flight at once across all targets. Higher finishes bursts sooner but
   * costs sockets, file descriptors and memory; lower queues checks (seen as lag).
   * Default 1024.
   */
  maxConcurrent?: number
  /**
   * HTTP checks with `connection: reuse` in flight at once (within maxConcurrent).
   * Bun's fetch parks at most 64 idle keep-alive connections per process and closes
   * the rest, so more reuse checks at once than that open a new connection for
   * nearly every check (measured on loopback at 10,000 checks/s: 64 in flight used
   * 64 connections at 100% of the rate; 100 in flight churned 6,000 connections in
   * 5 s and fell to 72%). Raise it only with an HTTP client whose pool is larger.
   * Default 64.
   */
  maxConcurrentReuse?: number
  /**
   * The longest (ms) a check slot may be moved so that it shares a timer wake-up with
   * others. Slots are grouped on a grid of step 100, 50, 25 or 5 ms (each divides the
   * larger ones and the usual intervals, so a target's phase stays on the grid when the
   * step changes): the largest step that is at most this, gives about `coalesceChecks`
   * checks per wake-up at the scheduled rate, and either divides every target's interval
   * or is at most 5 % of it. No grouping at high rates, where wake-ups are shared anyway
   * (10,000 targets at 1 s). Higher saves CPU at low rates; the costs: a target whose
   * interval the step does not divide starts up to one step late (its intervals vary by
   * up to 5 %), and a first check (new or taken-over target) comes up to one step later.
   * Default 0 (every slot on its own time, as the tests assume); the agent uses 100 (HeckNode).
   */
  coalesceMaxMs?: number
  /**
   * Checks per timer wake-up the grouping aims for (see coalesceMaxMs). A bare fetch
   * loop at 625 checks/s cost 76 µs of CPU per check 6 at a time, 43 µs 25 at a time and
   * 41 µs 62 at a time; keep it well under maxConcurrentReuse. Default 32.
   */
  coalesceChecks?: number
  /** Called once per finished check, in completion order. Not called for targets removed meanwhile. */
  onResult: (target: Target, outcome: ProbeOutcome, info: CheckInfo) => void
}

interface Entry {
  target: Target
  /** Monotonic ms of the next slot. */
  due: number
  /** Bumped whenever `due` is re-keyed, so stale heap nodes are ignored. */
  gen: number
  /** queued behind the cap, or probing: either way the target's next slot is skipped. */
  busy: boolean
  removed: boolean
  // The check queued or running now (a target has at most one), kept on the entry so a
  // check allocates no bookkeeping objects of its own: at 10,000 checks/s every
  // per-check object is garbage the collector has to chase (docs/BENCHMARKS.md "Version 1").
  /** The target as it was when the check was queued; reported with the result. */
  runTarget: Target
  /** Monotonic ms of the slot the current check belongs to. */
  slotAt: number
  startedAt: number
  lagMs: number
  reuse: boolean
  /** Set while probing; aborting it is the timeout. */
  abort: AbortController | null
  /** Bumped per start, so the deadline heap can tell a check's deadline from an earlier one's. */
  run: number
  /** The probe's settlement handlers, made once per entry rather than once per check. */
  onOutcome: (o: ProbeOutcome) => void
  onError: (err: unknown) => void
}

const isReuse = (t: Target): boolean => t.check.kind === 'http' && t.connection !== 'new'

/** Grouping steps (ms), largest first; each divides the ones before it (see coalesceMaxMs). */
const COALESCE_STEPS_MS = [100, 50, 25, 5]

const LAG_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export class Scheduler {
  private readonly clock: Clock
  private readonly rng: Rng
  private readonly prober: Prober
  private readonly onResult: SchedulerOptions['onResult']
  private readonly maxConcurrent: number
  private readonly entries = new Map<string, Entry>()
  // Removed targets whose check is still queued or running: re-adding one picks up the same entry, so
  // a remove-then-add cannot run two checks of one target at once.
  private readonly retired = new Map<string, Entry>()
  private readonly heap = new DueHeap<Entry>()
  private readonly maxConcurrentReuse: number
  // Checks waiting for a free slot under the caps, in slot order; keep-alive HTTP checks wait in their own lane.
  private readonly queue = new Fifo<Entry>()
  private readonly reuseQueue = new Fifo<Entry>()
  private readonly running = new Set<Entry>()
  private reuseRunning = 0
  private timerCancel: Cancel | null = null
  private timerAt = Number.POSITIVE_INFINITY
  private readonly coalesceMaxMs: number
  private readonly coalesceChecks: number
  /** The grouping step (ms) for the targets scheduled now; 0 when slots are not grouped. */
  private step = 0
  // Timeouts: one heap of deadlines and one timer for the earliest, instead of a timer per check.
  private readonly deadlines = new DueHeap<Entry>()
  private deadlineCancel: Cancel | null = null
  private deadlineAt = Number.POSITIVE_INFINITY
  private settled: PromiseWithResolvers<void> | null = null
  private stopped = false
  private readonly lag: Histogram
  private readonly duration: Histogram
  private readonly checksOk: BoundCounter
  private readonly checksFail: BoundCounter
  private readonly skipped: BoundCounter

  constructor(opts: SchedulerOptions) {
    this.clock = opts.clock
    this.rng = opts.rng
    this.prober = opts.prober
    this.onResult = opts.onResult
    this.maxConcurrent = Math.max(1, opts.maxConcurrent ?? 1024)
    this.maxConcurrentReuse = Math.max(1, opts.maxConcurrentReuse ?? 64)
    this.coalesceMaxMs = Math.max(0, opts.coalesceMaxMs ?? 0)
    this.coalesceChecks = Math.max(1, opts.coalesceChecks ?? 32)
    this.lag = opts.metrics.histogram('heck_schedule_lag_seconds', 'Delay from a check slot to the probe start (timer lateness plus queueing)', LAG_BUCKETS_S)
    this.duration = opts.metrics.histogram('heck_check_duration_seconds', 'Duration of checks as the prober measured them')
    const checks = opts.metrics.counter('heck_checks_total', 'Checks run, by result')
    this.checksOk = checks.labels({ result: 'ok' })
    this.checksFail = checks.labels({ result: 'fail' })
    this.checksOk.inc(0)
    this.checksFail.inc(0)
    this.skipped = opts.metrics.counter('heck_checks_skipped_total', 'Check slots skipped because the previous check of the target was still queued or running').labels()
    this.skipped.inc(0)
  }

  /** Targets scheduled now. */
  get size(): number {
    return this.entries.size
  }

  /** Checks probing right now. */
  get inFlight(): number {
    return this.running.size
  }

  /** Checks waiting for a free slot under the cap. */
  get queued(): number {
    return this.queue.length + this.reuseQueue.length
  }

  /**
   * Makes the scheduled set equal `targets`. Unchanged targets keep their phase;
   * changed ones keep it too unless their interval changed (then they re-spread);
   * new ones get a random phase within their interval; missing ones stop.
   */
  setTargets(targets: Target[], soon?: ReadonlySet<string>): void {
    if (this.stopped) return
    const now = this.clock.monotonic()
    this.step = this.stepFor(targets)
    // A new target's first check is spread over its whole interval, except the ones in
    // `soon` (taken over from a failed owner: already overdue), spread over a tenth of it.
    const first = (t: Target): number => {
      const overdue = soon?.has(t.id) ?? false
      const spread = overdue ? Math.min(t.intervalMs / 10, 250) : t.intervalMs
      const at = this.onGrid(now + this.rng.next() * spread)
      // A taken-over target must not be pushed past its spread by the grid: the point before.
      return overdue && at > now + spread ? at - this.step : at
    }
    const seen = new Set<string>()
    for (const t of targets) {
      seen.add(t.id)
      const e = this.entries.get(t.id)
      const old = e ? undefined : this.retired.get(t.id)
      if (old) {
        this.retired.delete(t.id)
        old.removed = false
        old.target = t
        old.due = first(t)
        old.gen++
        this.entries.set(t.id, old)
        this.heap.push(old.due, old, old.gen)
        continue
      }
      if (!e) {
        const entry = this.newEntry(t, first(t))
        this.entries.set(t.id, entry)
        this.heap.push(entry.due, entry, 0)
        continue
      }
      if (e.target === t) continue
      const intervalChanged = e.target.intervalMs !== t.intervalMs
      e.target = t
      if (intervalChanged) {
        e.due = this.onGrid(now + this.rng.next() * t.intervalMs)
        e.gen++
        this.heap.push(e.due, e, e.gen)
      }
    }
    for (const [id, e] of this.entries) {
      if (seen.has(id)) continue
      e.removed = true
      this.entries.delete(id)
      if (e.busy) this.retired.set(id, e)
    }
    this.arm()
  }

  /** Stops scheduling, aborts checks in flight and resolves once they have all settled. */
  async stop(): Promise<void> {
    this.stopped = true
    this.timerCancel?.()
    this.timerCancel = null
    this.deadlineCancel?.()
    this.deadlineCancel = null
    this.queue.clear()
    this.reuseQueue.clear()
    if (this.running.size === 0) return
    this.settled ??= Promise.withResolvers<void>()
    for (const e of this.running) e.abort?.abort()
    await this.settled.promise
  }

  private newEntry(target: Target, due: number): Entry {
    const e: Entry = {
      target,
      due,
      gen: 0,
      busy: false,
      removed: false,
      runTarget: target,
      slotAt: 0,
      startedAt: 0,
      lagMs: 0,
      reuse: false,
      abort: null,
      run: 0,
      onOutcome: (o) => this.finish(e, o),
      onError: (err) => this.finish(e, this.failure(e, err)),
    }
    return e
  }

  /** The grouping step for a set of targets: see SchedulerOptions.coalesceMaxMs. */
  private stepFor(targets: Target[]): number {
    if (this.coalesceMaxMs <= 0) return 0
    let perMs = 0
    for (const t of targets) perMs += 1 / Math.max(1, t.intervalMs)
    const want = perMs > 0 ? this.coalesceChecks / perMs : Number.POSITIVE_INFINITY
    // Intervals differ little within one agent: a Set keeps the fit test cheap.
    const intervals = new Set<number>()
    for (const t of targets) intervals.add(Math.max(1, t.intervalMs))
    const fits = (s: number) => {
      for (const iv of intervals) if (iv % s !== 0 && s > iv / 20) return false
      return true
    }
    for (const s of COALESCE_STEPS_MS) if (s <= this.coalesceMaxMs && s <= want && fits(s)) return s
    return 0
  }

  /** The first grid point at or after t (t itself when slots are not grouped). */
  private onGrid(t: number): number {
    return this.step > 0 ? Math.ceil(t / this.step) * this.step : t
  }

  /** Keeps exactly one timer, set for the earliest due slot (its grid point when grouped). */
  private arm(): void {
    if (this.stopped) return
    const due = this.heap.peekDue(this.valid)
    if (due === undefined) {
      this.timerCancel?.()
      this.timerCancel = null
      this.timerAt = Number.POSITIVE_INFINITY
      return
    }
    const next = this.onGrid(due)
    if (this.timerCancel && this.timerAt <= next) return
    this.timerCancel?.()
    this.timerAt = next
    this.timerCancel = this.clock.after(next - this.clock.monotonic(), () => this.tick())
  }

  private readonly valid = (e: Entry, gen: number): boolean => !e.removed && e.gen === gen

  private tick(): void {
    const armedFor = this.timerAt
    this.timerCancel = null
    this.timerAt = Number.POSITIVE_INFINITY
    if (this.stopped) return
    // A timer may fire a fraction of a ms before the grid point it was set for (whole-ms
    // timers); the slots of that point start now rather than in a wake-up of their own.
    const now = this.step > 0 ? Math.max(this.clock.monotonic(), armedFor) : this.clock.monotonic()
    for (;;) {
      const e = this.heap.popDue(now, this.valid)
      if (!e) break
      const slot = e.due
      // Next slot on the grid; slots already in the past (a stalled loop) are skipped, not burst.
      const interval = Math.max(1, e.target.intervalMs)
      let next = slot + interval
      if (next <= now) {
        const missed = Math.floor((now - slot) / interval)
        this.skipped.inc(missed)
        next = slot + (missed + 1) * interval
      }
      e.due = next
      this.heap.push(next, e, e.gen)
      if (e.busy) {
        this.skipped.inc()
        continue
      }
      e.busy = true
      e.runTarget = e.target
      e.slotAt = slot
      e.reuse = isReuse(e.target)
      if (this.running.size < this.maxConcurrent && (!e.reuse || this.reuseRunning < this.maxConcurrentReuse)) this.start(e)
      else (e.reuse ? this.reuseQueue : this.queue).push(e)
    }
    this.arm()
  }

  private start(e: Entry): void {
    const target = e.runTarget
    const startedAt = this.clock.monotonic()
    e.startedAt = startedAt
    e.lagMs = Math.max(0, startedAt - e.slotAt)
    this.lag.observe(e.lagMs / 1000)
    const abort = new AbortController()
    e.abort = abort
    e.run++
    this.running.add(e)
    if (e.reuse) this.reuseRunning++
    const deadline = startedAt + target.timeoutMs
    this.deadlines.push(deadline, e, e.run)
    if (deadline < this.deadlineAt) this.armDeadline(deadline)
    // The prober never throws into the scheduler: a rejection (or a throw) becomes a failed check.
    let p: Promise<ProbeOutcome>
    try {
      p = this.prober.probe(target, abort.signal)
    } catch (err) {
      p = Promise.reject(err)
    }
    p.then(e.onOutcome, e.onError)
  }

  private failure(e: Entry, err: unknown): ProbeOutcome {
    const error = e.abort?.signal.aborted ? `timeout after ${e.runTarget.timeoutMs}ms` : err instanceof Error ? err.message : String(err)
    return { ok: false, latencyMs: this.clock.monotonic() - e.startedAt, error }
  }

  private finish(e: Entry, outcome: ProbeOutcome): void {
    if (e.abort === null) return // settled twice (a misbehaving prober): the first one counted
    e.abort = null
    this.running.delete(e)
    if (e.reuse) this.reuseRunning--
    const target = e.runTarget
    const scheduledAt = e.slotAt
    const startedAt = e.startedAt
    const lagMs = e.lagMs
    this.release(e)
    ;(outcome.ok ? this.checksOk : this.checksFail).inc()
    this.duration.observe(outcome.latencyMs / 1000)
    if (!this.stopped && !e.removed) {
      try {
        this.onResult(target, outcome, { scheduledAt, startedAt, lagMs })
      } catch {
        // A failing consumer must not wedge the scheduler; it reports its own errors.
      }
    }
    if (this.settled && this.running.size === 0) this.settled.resolve()
    this.drain()
  }

  private readonly running_ = (e: Entry, run: number): boolean => e.abort !== null && e.run === run

  /** Keeps one timer, set for the earliest deadline of a check in flight. */
  private armDeadline(at: number): void {
    this.deadlineCancel?.()
    this.deadlineAt = at
    this.deadlineCancel = this.clock.after(at - this.clock.monotonic(), () => this.expire())
  }

  /** Aborts every check past its deadline, then re-arms for the next one. */
  private expire(): void {
    this.deadlineCancel = null
    this.deadlineAt = Number.POSITIVE_INFINITY
    if (this.stopped) return
    const now = this.clock.monotonic()
    for (;;) {
      const e = this.deadlines.popDue(now, this.running_)
      if (!e) break
      e.abort?.abort()
    }
    const next = this.deadlines.peekDue(this.running_)
    if (next !== undefined) this.armDeadline(next)
  }

  /** The target's check is over (finished, or dropped from the queue because the target went away). */
  private release(e: Entry): void {
    e.busy = false
    if (e.removed && this.retired.get(e.target.id) === e) this.retired.delete(e.target.id)
  }

  /** Starts waiting checks, oldest slot first, while the caps allow. */
  private drain(): void {
    while (!this.stopped && this.running.size < this.maxConcurrent) {
      const other = this.head(this.queue)
      const reuse = this.reuseRunning < this.maxConcurrentReuse ? this.head(this.reuseQueue) : undefined
      const pick = other && (!reuse || other.slotAt <= reuse.slotAt) ? this.queue : reuse ? this.reuseQueue : undefined
      if (!pick) break
      this.start(pick.shift() as Entry)
    }
  }

  /** The first waiting check whose target still exists; drops removed ones. */
  private head(q: Fifo<Entry>): Entry | undefined {
    for (;;) {
      const e = q.peek()
      if (!e || !e.removed) return e
      q.shift()
      this.release(e)
    }
  }
}
