/**
 * The check scheduler (DESIGN.md "Poller"). Each target runs on its own interval,
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
 */
import type { Target } from '../config/types.ts'
import type { Cancel, Clock } from '../runtime/clock.ts'
import type { Rng } from '../runtime/rng.ts'
import type { Counter, Histogram, Registry } from '../metrics/registry.ts'
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
}

interface Running {
  entry: Entry
  abort: AbortController
  done: Promise<void>
}

interface Waiting {
  entry: Entry
  scheduledAt: number
}

const isReuse = (t: Target): boolean => t.check.kind === 'http' && t.connection !== 'new'

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
  private readonly queue = new Fifo<Waiting>()
  private readonly reuseQueue = new Fifo<Waiting>()
  private readonly running = new Set<Running>()
  private reuseRunning = 0
  private timerCancel: Cancel | null = null
  private timerAt = Number.POSITIVE_INFINITY
  private stopped = false
  private readonly lag: Histogram
  private readonly duration: Histogram
  private readonly checks: Counter
  private readonly skipped: Counter

  constructor(opts: SchedulerOptions) {
    this.clock = opts.clock
    this.rng = opts.rng
    this.prober = opts.prober
    this.onResult = opts.onResult
    this.maxConcurrent = Math.max(1, opts.maxConcurrent ?? 1024)
    this.maxConcurrentReuse = Math.max(1, opts.maxConcurrentReuse ?? 64)
    this.lag = opts.metrics.histogram('heck_schedule_lag_seconds', 'Delay from a check slot to the probe start (timer lateness plus queueing)', LAG_BUCKETS_S)
    this.duration = opts.metrics.histogram('heck_check_duration_seconds', 'Duration of checks as the prober measured them')
    this.checks = opts.metrics.counter('heck_checks_total', 'Checks run, by result')
    this.skipped = opts.metrics.counter('heck_checks_skipped_total', 'Check slots skipped because the previous check of the target was still queued or running')
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
  setTargets(targets: Target[]): void {
    if (this.stopped) return
    const now = this.clock.monotonic()
    const seen = new Set<string>()
    for (const t of targets) {
      seen.add(t.id)
      const e = this.entries.get(t.id)
      const old = e ? undefined : this.retired.get(t.id)
      if (old) {
        this.retired.delete(t.id)
        old.removed = false
        old.target = t
        old.due = now + this.rng.next() * t.intervalMs
        old.gen++
        this.entries.set(t.id, old)
        this.heap.push(old.due, old, old.gen)
        continue
      }
      if (!e) {
        const entry: Entry = { target: t, due: now + this.rng.next() * t.intervalMs, gen: 0, busy: false, removed: false }
        this.entries.set(t.id, entry)
        this.heap.push(entry.due, entry, 0)
        continue
      }
      if (e.target === t) continue
      const intervalChanged = e.target.intervalMs !== t.intervalMs
      e.target = t
      if (intervalChanged) {
        e.due = now + this.rng.next() * t.intervalMs
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
    this.queue.clear()
    this.reuseQueue.clear()
    const pending = [...this.running]
    for (const r of pending) r.abort.abort()
    await Promise.all(pending.map((r) => r.done))
  }

  /** Keeps exactly one timer, set for the earliest due slot. */
  private arm(): void {
    if (this.stopped) return
    const next = this.heap.peekDue(this.valid)
    if (next === undefined) {
      this.timerCancel?.()
      this.timerCancel = null
      this.timerAt = Number.POSITIVE_INFINITY
      return
    }
    if (this.timerCancel && this.timerAt <= next) return
    this.timerCancel?.()
    this.timerAt = next
    this.timerCancel = this.clock.after(next - this.clock.monotonic(), () => this.tick())
  }

  private readonly valid = (e: Entry, gen: number): boolean => !e.removed && e.gen === gen

  private tick(): void {
    this.timerCancel = null
    this.timerAt = Number.POSITIVE_INFINITY
    if (this.stopped) return
    const now = this.clock.monotonic()
    for (;;) {
      const e = this.heap.popDue(now, this.valid)
      if (!e) break
      const slot = e.due
      // Next slot on the grid; slots already in the past (a stalled loop) are skipped, not burst.
      const interval = Math.max(1, e.target.intervalMs)
      let next = slot + interval
      if (next <= now) {
        const missed = Math.floor((now - slot) / interval)
        this.skipped.inc(undefined, missed)
        next = slot + (missed + 1) * interval
      }
      e.due = next
      this.heap.push(next, e, e.gen)
      if (e.busy) {
        this.skipped.inc()
        continue
      }
      e.busy = true
      const reuse = isReuse(e.target)
      if (this.running.size < this.maxConcurrent && (!reuse || this.reuseRunning < this.maxConcurrentReuse)) this.start(e, slot)
      else (reuse ? this.reuseQueue : this.queue).push({ entry: e, scheduledAt: slot })
    }
    this.arm()
  }

  private start(e: Entry, scheduledAt: number): void {
    const target = e.target
    const startedAt = this.clock.monotonic()
    const lagMs = Math.max(0, startedAt - scheduledAt)
    this.lag.observe(lagMs / 1000)
    const abort = new AbortController()
    const cancelTimeout = this.clock.after(target.timeoutMs, () => abort.abort())
    const reuse = isReuse(target)
    const run: Running = { entry: e, abort, done: Promise.resolve() }
    this.running.add(run)
    if (reuse) this.reuseRunning++
    run.done = this.probe(target, abort.signal).then((outcome) => {
      cancelTimeout()
      this.running.delete(run)
      if (reuse) this.reuseRunning--
      this.release(e)
      this.checks.inc({ result: outcome.ok ? 'ok' : 'fail' })
      this.duration.observe(outcome.latencyMs / 1000)
      if (!this.stopped && !e.removed) {
        try {
          this.onResult(target, outcome, { scheduledAt, startedAt, lagMs })
        } catch {
          // A failing consumer must not wedge the scheduler; it reports its own errors.
        }
      }
      this.drain()
    })
  }

  /** The prober never throws into the scheduler: a rejection becomes a failed check. */
  private async probe(target: Target, signal: AbortSignal): Promise<ProbeOutcome> {
    const t0 = this.clock.monotonic()
    try {
      return await this.prober.probe(target, signal)
    } catch (err) {
      const error = signal.aborted ? `timeout after ${target.timeoutMs}ms` : err instanceof Error ? err.message : String(err)
      return { ok: false, latencyMs: this.clock.monotonic() - t0, error }
    }
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
      const pick = other && (!reuse || other.scheduledAt <= reuse.scheduledAt) ? this.queue : reuse ? this.reuseQueue : undefined
      if (!pick) break
      const w = pick.shift() as Waiting
      this.start(w.entry, w.scheduledAt)
    }
  }

  /** The first waiting check whose target still exists; drops removed ones. */
  private head(q: Fifo<Waiting>): Waiting | undefined {
    for (;;) {
      const w = q.peek()
      if (!w || !w.entry.removed) return w
      q.shift()
      this.release(w.entry)
    }
  }
}
