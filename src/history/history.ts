/**
 * Check history in bun:sqlite under --data-dir (docs/ARCHITECTURE.md "Where each mechanism lives"): status
 * transitions and per-minute aggregates per target (checks, failures, latency
 * sum), never one row per check — the row-per-check design is what sank Uptime
 * Kuma at a few hundred monitors (Uptime Kuma #5641, #7079). Checks are
 * folded into an in-memory buffer on the check path (a Map update, no I/O) and
 * written on a Clock timer (or sooner when the buffer grows) in transactions of
 * bounded size, one per event-loop turn, so a big flush never stalls the checks.
 * Retention is bounded per table. A small key/value table holds other state the
 * agent persists (replicated snapshots, the replica id). A damaged file or an
 * unusable data dir never fails the agent (history-db.ts): reads then throw
 * HistoryUnavailableError, which callers answer without history.
 */
import type { Database } from 'bun:sqlite'
import type { CheckResult, Status } from '../config/types.ts'
import type { Cancel } from '../seams/clock.ts'
import { type Agg, byKey, DAY_MS, HOUR_MS, type HistorySql, MINUTE_MS, type TransitionRow } from './history-sql.ts'
import { HistoryDb, type HistoryDbOptions } from './history-db.ts'
import type { KvStore } from './kv.ts'

export type { KvStore } from './kv.ts'
export { HistoryUnavailableError } from './history-db.ts'

export interface HistoryOptions extends HistoryDbOptions {
  /** How often (ms) buffered aggregates and transitions are written. Lower loses less on a crash, costs more writes. Default 10,000. */
  flushIntervalMs?: number
  /**
   * Rows written per transaction by the timed flush; a batch bigger than this is written in slices on
   * successive turns of the event loop, so one flush never stalls checks for long (10,000 rows in one
   * transaction took 13–64 ms here; 1,000 about 1.5 ms). Rolling minutes up into hours moves this
   * many rows per step too. Default 1000.
   */
  flushSliceRows?: number
  /** Buffered rows (target-minutes plus transitions) that trigger an early flush, so memory stays bounded. Default 10,000. */
  maxBufferedRows?: number
  /** How long (ms) status transitions are kept. Default 30 days. */
  transitionRetentionMs?: number
  /**
   * How long (ms) per-minute aggregates are kept before they are rolled up into hours. At least
   * 1 h 1 min (the 1-hour uptime window reads minutes). Default 2 hours: at 10,000 targets that is
   * 1.2 M minute rows, where 8 days of minutes would be 115 M.
   */
  minuteRetentionMs?: number
  /** How long (ms) per-hour aggregates are kept; at least 7 days + 1 hour (the 7-day uptime window). Default 8 days. */
  hourRetentionMs?: number
  /** How often (ms) old minutes are rolled up into hours and expired rows deleted. Each run touches about one interval's worth of minutes, so keep it short. Default 1 minute. */
  pruneIntervalMs?: number
}

export interface Transition {
  /** Wall-clock ms. */
  at: number
  from: Status
  to: Status
}

/** Checks in one minute or one hour. */
export interface Aggregate {
  /** Wall-clock ms of the minute's (or hour's) start. */
  start: number
  checks: number
  failures: number
  latencySumMs: number
}

/** Checks and failures in one uptime window. */
export interface Counts {
  checks: number
  failures: number
}

/** Counts for the three uptime windows. */
export interface WindowCounts {
  h1: Counts
  h24: Counts
  d7: Counts
}

/** Share of successful checks in `c`; null without checks. */
export const ratioOf = (c: Counts): number | null => (c.checks > 0 ? (c.checks - c.failures) / c.checks : null)

/** Share of successful checks; null where there were no checks in the window. */
export interface Uptime {
  h1: number | null
  h24: number | null
  d7: number | null
}

export class HistoryStore {
  readonly kv: KvStore
  private readonly clock: HistoryOptions['clock']
  private readonly flushIntervalMs: number
  private readonly maxBufferedRows: number
  private readonly transitionRetentionMs: number
  private readonly minuteRetentionMs: number
  private readonly hourRetentionMs: number
  private readonly file: HistoryDb
  private readonly pruneIntervalMs: number
  private aggs = new Map<string, Agg>()
  private transitions: TransitionRow[] = []
  private readonly flushSliceRows: number
  // The batch the timed flush is writing, slice by slice.
  private outAggs: Agg[] = []
  private outTransitions: TransitionRow[] = []
  private outPos = 0
  private sliceTimer: Cancel | null = null
  private flushTimer: Cancel | null = null
  private pruneTimer: Cancel | null = null
  private earlyFlush: Cancel | null = null
  private closed = false

  /**
   * Opens (creating if needed) `DIR/history.sqlite`. Never rejects for the file's sake: a
   * damaged file is moved aside and replaced, an unusable data dir leaves history
   * unavailable (logged, retried); pass `log` and `metrics` to hear about it.
   */
  static async open(dataDir: string, opts: HistoryOptions): Promise<HistoryStore> {
    return new HistoryStore(HistoryDb.open(dataDir, opts), opts)
  }

  /** Wraps an open database (tests pass `new Database(':memory:')`). The store owns it from now on. */
  constructor(db: Database | HistoryDb, opts: HistoryOptions) {
    this.clock = opts.clock
    this.flushIntervalMs = opts.flushIntervalMs ?? 10_000
    this.flushSliceRows = Math.max(1, opts.flushSliceRows ?? 1000)
    this.maxBufferedRows = opts.maxBufferedRows ?? 10_000
    this.transitionRetentionMs = opts.transitionRetentionMs ?? 30 * DAY_MS
    this.minuteRetentionMs = Math.max(HOUR_MS + MINUTE_MS, opts.minuteRetentionMs ?? 2 * HOUR_MS)
    this.hourRetentionMs = Math.max(7 * DAY_MS + HOUR_MS, opts.hourRetentionMs ?? 8 * DAY_MS)
    this.pruneIntervalMs = opts.pruneIntervalMs ?? MINUTE_MS
    this.file = db instanceof HistoryDb ? db : HistoryDb.wrap(db, opts)
    this.kv = this.file.kv
    this.flushTimer = this.clock.after(this.flushIntervalMs, () => this.onFlushTimer())
    // The first prune runs on the next turn, in steps: after a long downtime there may be hours of
    // minutes to roll up, and opening the store must stay fast (start-up budget 300 ms).
    this.pruneTimer = this.clock.after(0, () => this.onPruneTimer())
  }

  /** Folds one check into its target-minute; no I/O. */
  recordCheck(targetId: string, r: CheckResult): void {
    if (this.closed) return
    const minute = Math.floor(r.checked_at / MINUTE_MS) * MINUTE_MS
    const key = `${minute}\u0000${targetId}`
    let a = this.aggs.get(key)
    if (!a) {
      a = { target: targetId, minute, checks: 0, failures: 0, latencySum: 0 }
      this.aggs.set(key, a)
      this.maybeFlushEarly()
    }
    a.checks++
    if (!r.ok) a.failures++
    a.latencySum += r.latency_ms
  }

  recordTransition(targetId: string, from: Status, to: Status, at: number): void {
    if (this.closed) return
    this.transitions.push({ target: targetId, at, from, to })
    this.maybeFlushEarly()
  }

  /** Writes everything buffered (and what a timed flush has not written yet) in one transaction, now. */
  flush(): void {
    if (this.closed) return
    this.sliceTimer?.()
    this.sliceTimer = null
    const aggs = this.outAggs.slice(this.outPos)
    for (const a of this.aggs.values()) aggs.push(a)
    aggs.sort(byKey)
    const ts = [...this.outTransitions, ...this.transitions]
    this.outAggs = []
    this.outTransitions = []
    this.outPos = 0
    this.aggs = new Map()
    this.transitions = []
    if (aggs.length > 0 || ts.length > 0) this.put('flush', (sql) => sql.writeBatch(aggs, ts))
  }

  /** Why reads cannot be answered now (the file or its data dir), or null when they can. */
  get unavailableReason(): string | null {
    return this.file.unavailableReason
  }

  /** A write through the file guard; false when it was not written (logged and counted there). Never throws. */
  private put(what: string, fn: (sql: HistorySql) => void): boolean {
    return (
      this.file.write(what, (l) => {
        fn(l.sql)
        return true
      }) === true
    )
  }

  /** Rolls minutes past their retention up into hours, and deletes hours and transitions past theirs. */
  prune(): void {
    if (this.closed) return
    const now = this.clock.now()
    this.put('prune', (sql) => {
      sql.expire(now - this.hourRetentionMs, now - this.transitionRetentionMs)
      for (let m = sql.oldestMinute(); m !== null && m < this.minuteCutoff(now); m = sql.oldestMinute()) sql.rollMinute(m, this.flushSliceRows)
    })
  }

  private minuteCutoff(now: number): number {
    return Math.floor((now - this.minuteRetentionMs) / MINUTE_MS) * MINUTE_MS
  }

  /**
   * Uptime ratios (share of successful checks) over the last hour, day and week, buffered checks
   * included. The hour reads minutes; the day and the week also read hours, so their window starts
   * at the top of the hour: up to one hour longer than named. Throws HistoryUnavailableError.
   */
  uptime(targetId: string): Uptime {
    const w = this.windowCounts(targetId)
    return { h1: ratioOf(w.h1), h24: ratioOf(w.h24), d7: ratioOf(w.d7) }
  }

  /**
   * Checks and failures this node recorded for a target over the uptime windows, so that
   * counts from several nodes (each recorded what it checked) add up to one answer.
   * Throws HistoryUnavailableError.
   */
  windowCounts(targetId: string): WindowCounts {
    const now = this.clock.now()
    const pending = this.buffered(targetId)
    const count = (windowMs: number): Counts => {
      const from = now - windowMs
      const minuteFrom = Math.floor(from / MINUTE_MS) * MINUTE_MS
      // Minutes older than the retention are in hours: walk only the minutes that can exist.
      const walkFrom = Math.max(minuteFrom, Math.floor((now - this.minuteRetentionMs) / MINUTE_MS) * MINUTE_MS - MINUTE_MS)
      const row = this.file.read('uptime', (sql) => sql.sumWindow(targetId, walkFrom, Math.floor(from / HOUR_MS) * HOUR_MS, now))
      let checks = row?.checks ?? 0
      let failures = row?.failures ?? 0
      for (const a of pending) {
        if (a.minute < minuteFrom) continue
        checks += a.checks
        failures += a.failures
      }
      return { checks, failures }
    }
    return { h1: count(HOUR_MS), h24: count(DAY_MS), d7: count(7 * DAY_MS) }
  }

  /** The last `n` transitions of a target, newest first. Throws HistoryUnavailableError. */
  recentTransitions(targetId: string, n: number): Transition[] {
    const stored = this.file
      .read('transitions', (sql) => sql.lastTransitions(targetId, n))
      .map((r): Transition => ({ at: r.at, from: r.from_status, to: r.to_status }))
    // Not yet written ones are the newest; newest first, as they were recorded.
    const pending: Transition[] = []
    for (const t of [...this.outTransitions, ...this.transitions]) if (t.target === targetId) pending.push({ at: t.at, from: t.from, to: t.to })
    if (pending.length === 0) return stored
    return [...pending.reverse(), ...stored].sort((a, b) => b.at - a.at).slice(0, n)
  }

  /** Per-minute aggregates of a target from `sinceMs` (wall-clock), oldest first; for sparklines and the TUI. Minutes are kept for minuteRetentionMs. */
  minutes(targetId: string, sinceMs: number): Aggregate[] {
    return this.series('minutes', MINUTE_MS, targetId, sinceMs)
  }

  /** Per-hour aggregates of a target from `sinceMs` (wall-clock), oldest first; only hours already rolled up from minutes. */
  hours(targetId: string, sinceMs: number): Aggregate[] {
    return this.series('hours', HOUR_MS, targetId, sinceMs)
  }

  private series(table: 'minutes' | 'hours', stepMs: number, targetId: string, sinceMs: number): Aggregate[] {
    const now = this.clock.now()
    // Never walk further back than the table keeps.
    const keep = table === 'minutes' ? this.minuteRetentionMs : this.hourRetentionMs
    const from = Math.floor(Math.max(sinceMs, now - keep - stepMs) / stepMs) * stepMs
    const rows = this.file
      .read(table, (sql) => sql.series(table, targetId, from, now))
      .map((r): Aggregate => ({ start: r.t, checks: r.checks, failures: r.failures, latencySumMs: r.latency_sum }))
    if (table === 'hours') return rows // buffered checks are minutes; they reach hours only by roll-up
    const pending = this.buffered(targetId).filter((a) => a.minute >= from && a.minute <= now)
    if (pending.length === 0) return rows
    const byStart = new Map(rows.map((r) => [r.start, { ...r }]))
    for (const a of pending) {
      const r = byStart.get(a.minute)
      if (r) {
        r.checks += a.checks
        r.failures += a.failures
        r.latencySumMs += a.latencySum
      } else byStart.set(a.minute, { start: a.minute, checks: a.checks, failures: a.failures, latencySumMs: a.latencySum })
    }
    return [...byStart.values()].sort((a, b) => a.start - b.start)
  }

  /** A target's checks not yet in the database (buffered, or in the batch being written): O(buffer), no I/O. */
  private buffered(targetId: string): Agg[] {
    const out: Agg[] = []
    for (let i = this.outPos; i < this.outAggs.length; i++) {
      const a = this.outAggs[i] as Agg
      if (a.target === targetId) out.push(a)
    }
    for (const a of this.aggs.values()) if (a.target === targetId) out.push(a)
    return out
  }

  /** Drops a removed target's history now rather than at retention. */
  forget(targetId: string): void {
    this.flush()
    this.put('forget', (sql) => sql.forget(targetId))
  }

  /** Flushes what is buffered, stops the timers and closes the database. Idempotent; never throws. */
  close(): void {
    if (this.closed) return
    this.flush()
    this.closed = true
    this.flushTimer?.()
    this.pruneTimer?.()
    this.earlyFlush?.()
    this.sliceTimer?.()
    this.file.close()
  }

  private maybeFlushEarly(): void {
    // Started on the next turn rather than inline, so the check that tipped the buffer does not pay for the write.
    if (this.earlyFlush || this.aggs.size + this.transitions.length < this.maxBufferedRows) return
    this.earlyFlush = this.clock.after(0, () => {
      this.earlyFlush = null
      this.startBackgroundFlush()
    })
  }

  private onFlushTimer(): void {
    if (this.closed) return
    this.startBackgroundFlush()
    this.flushTimer = this.clock.after(this.flushIntervalMs, () => this.onFlushTimer())
  }

  /** Takes the buffer as the batch to write and writes its first slice; a batch already under way just continues. */
  private startBackgroundFlush(): void {
    if (this.closed || this.sliceTimer) return
    if (this.aggs.size === 0 && this.transitions.length === 0) return
    this.outAggs = [...this.aggs.values()].sort(byKey)
    this.outTransitions = this.transitions
    this.outPos = 0
    this.aggs = new Map()
    this.transitions = []
    this.writeSlice()
  }

  private writeSlice(): void {
    this.sliceTimer = null
    if (this.closed) return
    const end = Math.min(this.outAggs.length, this.outPos + this.flushSliceRows)
    const slice = this.outAggs.slice(this.outPos, end)
    const ts = this.outTransitions
    // Advance first: a slice that fails (after a damaged file was replaced, once more) is
    // reported and dropped rather than retried forever.
    this.outPos = end
    this.outTransitions = []
    this.put('flush', (sql) => sql.writeBatch(slice, ts))
    if (this.outPos < this.outAggs.length) this.sliceTimer = this.clock.after(0, () => this.writeSlice())
    else {
      this.outAggs = []
      this.outPos = 0
    }
  }

  /** The timed prune: expiry at once, then minutes rolled up one slice per event-loop turn. */
  private onPruneTimer(): void {
    this.pruneTimer = null
    if (this.closed) return
    const now = this.clock.now()
    this.put('prune', (sql) => sql.expire(now - this.hourRetentionMs, now - this.transitionRetentionMs))
    this.rollStep(this.minuteCutoff(now))
  }

  private rollStep(cutoff: number): void {
    this.pruneTimer = null
    if (this.closed) return
    let more = false
    this.put('prune', (sql) => {
      const m = sql.oldestMinute()
      if (m !== null && m < cutoff) {
        sql.rollMinute(m, this.flushSliceRows)
        more = true
      }
    })
    this.pruneTimer = more ? this.clock.after(0, () => this.rollStep(cutoff)) : this.clock.after(this.pruneIntervalMs, () => this.onPruneTimer())
  }
}
