/**
 * Check history in bun:sqlite under --data-dir (DESIGN.md "store/"): status
 * transitions and per-minute aggregates per target (checks, failures, latency
 * sum), never one row per check — the row-per-check design is what sank Uptime
 * Kuma at a few hundred monitors (RESEARCH.md "Health checking"). Checks are
 * folded into an in-memory buffer on the check path (a Map update, no I/O) and
 * written on a Clock timer (or sooner when the buffer grows) in transactions of
 * bounded size, one per event-loop turn, so a big flush never stalls the checks.
 * Retention is bounded per table. A small key/value table holds other state the
 * agent persists (replicated snapshots, the replica id).
 */
import { Database } from 'bun:sqlite'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { CheckResult, Status } from '../config/types.ts'
import type { Cancel, Clock } from '../runtime/clock.ts'

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
const DAY_MS = 24 * HOUR_MS

export interface HistoryOptions {
  clock: Clock
  /** How often (ms) buffered aggregates and transitions are written. Lower loses less on a crash, costs more writes. Default 10,000. */
  flushIntervalMs?: number
  /**
   * Rows written per transaction by the timed flush; a batch bigger than this is written in slices on
   * successive turns of the event loop, so one flush never stalls checks for long (10,000 rows in one
   * transaction took 13–64 ms here; 1,000 about 1.5 ms). Default 1000.
   */
  flushSliceRows?: number
  /** Buffered rows (target-minutes plus transitions) that trigger an early flush, so memory stays bounded. Default 10,000. */
  maxBufferedRows?: number
  /** How long (ms) status transitions are kept. Default 30 days. */
  transitionRetentionMs?: number
  /** How long (ms) per-minute aggregates are kept; must cover the 7-day uptime window. Default 8 days. */
  minuteRetentionMs?: number
  /** How often (ms) expired rows are deleted. Default 1 hour. */
  pruneIntervalMs?: number
  /** Told when a timed flush or prune fails (disk full, locked); the store carries on. */
  onError?: (err: unknown) => void
}

export interface Transition {
  /** Wall-clock ms. */
  at: number
  from: Status
  to: Status
}

export interface MinuteAggregate {
  /** Wall-clock ms of the minute's start. */
  minute: number
  checks: number
  failures: number
  latencySumMs: number
}

/** Share of successful checks; null where there were no checks in the window. */
export interface Uptime {
  h1: number | null
  h24: number | null
  d7: number | null
}

/** A small persistent key/value map; values are bytes or text. */
export interface KvStore {
  get(key: string): Uint8Array | undefined
  put(key: string, value: Uint8Array | string): void
  delete(key: string): void
}

interface Agg {
  target: string
  minute: number
  checks: number
  failures: number
  latencySum: number
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS transitions (
  target TEXT NOT NULL, at INTEGER NOT NULL, from_status TEXT NOT NULL, to_status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_target_at ON transitions (target, at);
CREATE INDEX IF NOT EXISTS transitions_at ON transitions (at);
CREATE TABLE IF NOT EXISTS minutes (
  target TEXT NOT NULL, minute INTEGER NOT NULL, checks INTEGER NOT NULL, failures INTEGER NOT NULL, latency_sum REAL NOT NULL,
  PRIMARY KEY (target, minute)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS minutes_minute ON minutes (minute);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);
`

export class HistoryStore {
  readonly kv: KvStore
  private readonly clock: Clock
  private readonly flushIntervalMs: number
  private readonly maxBufferedRows: number
  private readonly transitionRetentionMs: number
  private readonly minuteRetentionMs: number
  private readonly pruneIntervalMs: number
  private aggs = new Map<string, Agg>()
  private transitions: Array<{ target: string } & Transition> = []
  private readonly flushSliceRows: number
  // The batch the timed flush is writing, slice by slice.
  private outAggs: Agg[] = []
  private outTransitions: Array<{ target: string } & Transition> = []
  private outPos = 0
  private sliceTimer: Cancel | null = null
  private flushTimer: Cancel | null = null
  private pruneTimer: Cancel | null = null
  private earlyFlush: Cancel | null = null
  private closed = false
  private readonly onError: (err: unknown) => void
  private readonly upsertMinute
  private readonly insertTransition
  private readonly writeBatch: (aggs: Agg[], ts: Array<{ target: string } & Transition>) => void

  /** Opens (creating if needed) `DIR/history.sqlite`. */
  static async open(dataDir: string, opts: HistoryOptions): Promise<HistoryStore> {
    await mkdir(dataDir, { recursive: true })
    return new HistoryStore(new Database(join(dataDir, 'history.sqlite'), { create: true }), opts)
  }

  /** Wraps an open database (tests pass `new Database(':memory:')`). The store owns it from now on. */
  constructor(private readonly db: Database, opts: HistoryOptions) {
    this.clock = opts.clock
    this.flushIntervalMs = opts.flushIntervalMs ?? 10_000
    this.flushSliceRows = Math.max(1, opts.flushSliceRows ?? 1000)
    this.maxBufferedRows = opts.maxBufferedRows ?? 10_000
    this.transitionRetentionMs = opts.transitionRetentionMs ?? 30 * DAY_MS
    this.minuteRetentionMs = opts.minuteRetentionMs ?? 8 * DAY_MS
    this.pruneIntervalMs = opts.pruneIntervalMs ?? HOUR_MS
    this.onError = opts.onError ?? (() => {})
    // WAL: readers (the API) never block the writer; NORMAL sync is durable across process crashes.
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA synchronous = NORMAL')
    db.exec(SCHEMA)
    this.upsertMinute = db.prepare(
      `INSERT INTO minutes (target, minute, checks, failures, latency_sum) VALUES (?1, ?2, ?3, ?4, ?5)
       ON CONFLICT (target, minute) DO UPDATE SET checks = checks + excluded.checks,
         failures = failures + excluded.failures, latency_sum = latency_sum + excluded.latency_sum`,
    )
    this.insertTransition = db.prepare('INSERT INTO transitions (target, at, from_status, to_status) VALUES (?1, ?2, ?3, ?4)')
    this.writeBatch = db.transaction((aggs: Agg[], ts: Array<{ target: string } & Transition>) => {
      for (const a of aggs) this.upsertMinute.run(a.target, a.minute, a.checks, a.failures, a.latencySum)
      for (const t of ts) this.insertTransition.run(t.target, t.at, t.from, t.to)
    })
    const kvGet = db.prepare<{ value: Uint8Array | string }, [string]>('SELECT value FROM kv WHERE key = ?1')
    const kvPut = db.prepare('INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
    const kvDel = db.prepare('DELETE FROM kv WHERE key = ?1')
    this.kv = {
      get: (key) => {
        const row = kvGet.get(key)
        if (!row) return undefined
        return typeof row.value === 'string' ? new TextEncoder().encode(row.value) : new Uint8Array(row.value)
      },
      put: (key, value) => void kvPut.run(key, value),
      delete: (key) => void kvDel.run(key),
    }
    this.prune()
    this.flushTimer = this.clock.after(this.flushIntervalMs, () => this.onFlushTimer())
    this.pruneTimer = this.clock.after(this.pruneIntervalMs, () => this.onPruneTimer())
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
    const ts = [...this.outTransitions, ...this.transitions]
    this.outAggs = []
    this.outTransitions = []
    this.outPos = 0
    this.aggs = new Map()
    this.transitions = []
    if (aggs.length > 0 || ts.length > 0) this.writeBatch(aggs, ts)
  }

  /** Deletes rows older than the retention windows. */
  prune(): void {
    if (this.closed) return
    const now = this.clock.now()
    this.db.run('DELETE FROM transitions WHERE at < ?1', [now - this.transitionRetentionMs])
    this.db.run('DELETE FROM minutes WHERE minute < ?1', [now - this.minuteRetentionMs])
  }

  /** Uptime ratios over the last hour, day and week, by checks (buffered ones included). */
  uptime(targetId: string): Uptime {
    this.flush()
    const now = this.clock.now()
    const ratio = (windowMs: number): number | null => {
      const from = Math.floor((now - windowMs) / MINUTE_MS) * MINUTE_MS
      const row = this.db
        .query<{ checks: number | null; failures: number | null }, [string, number]>(
          'SELECT SUM(checks) AS checks, SUM(failures) AS failures FROM minutes WHERE target = ?1 AND minute >= ?2',
        )
        .get(targetId, from)
      if (!row?.checks) return null
      return (row.checks - (row.failures ?? 0)) / row.checks
    }
    return { h1: ratio(HOUR_MS), h24: ratio(DAY_MS), d7: ratio(7 * DAY_MS) }
  }

  /** The last `n` transitions of a target, newest first. */
  recentTransitions(targetId: string, n: number): Transition[] {
    this.flush()
    return this.db
      .query<{ at: number; from_status: Status; to_status: Status }, [string, number]>(
        'SELECT at, from_status, to_status FROM transitions WHERE target = ?1 ORDER BY at DESC, rowid DESC LIMIT ?2',
      )
      .all(targetId, n)
      .map((r) => ({ at: r.at, from: r.from_status, to: r.to_status }))
  }

  /** Per-minute aggregates of a target from `sinceMs` (wall-clock), oldest first; for sparklines and the TUI. */
  minutes(targetId: string, sinceMs: number): MinuteAggregate[] {
    this.flush()
    return this.db
      .query<{ minute: number; checks: number; failures: number; latency_sum: number }, [string, number]>(
        'SELECT minute, checks, failures, latency_sum FROM minutes WHERE target = ?1 AND minute >= ?2 ORDER BY minute',
      )
      .all(targetId, Math.floor(sinceMs / MINUTE_MS) * MINUTE_MS)
      .map((r) => ({ minute: r.minute, checks: r.checks, failures: r.failures, latencySumMs: r.latency_sum }))
  }

  /** Drops a removed target's history now rather than at retention. */
  forget(targetId: string): void {
    this.flush()
    this.db.run('DELETE FROM transitions WHERE target = ?1', [targetId])
    this.db.run('DELETE FROM minutes WHERE target = ?1', [targetId])
  }

  /** Flushes what is buffered, stops the timers and closes the database. Idempotent. */
  close(): void {
    if (this.closed) return
    this.flush()
    this.closed = true
    this.flushTimer?.()
    this.pruneTimer?.()
    this.earlyFlush?.()
    this.sliceTimer?.()
    this.db.close()
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
    this.outAggs = [...this.aggs.values()]
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
    // Advance first: a failed slice is reported and dropped rather than retried forever.
    this.outPos = end
    this.outTransitions = []
    try {
      this.writeBatch(slice, ts)
    } catch (err) {
      this.onError(err)
    }
    if (this.outPos < this.outAggs.length) this.sliceTimer = this.clock.after(0, () => this.writeSlice())
    else {
      this.outAggs = []
      this.outPos = 0
    }
  }

  private onPruneTimer(): void {
    if (this.closed) return
    try {
      this.prune()
    } catch (err) {
      this.onError(err)
    }
    this.pruneTimer = this.clock.after(this.pruneIntervalMs, () => this.onPruneTimer())
  }
}
