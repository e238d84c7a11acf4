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
  /** Told when a timed flush or prune fails (disk full, locked); the store carries on. */
  onError?: (err: unknown) => void
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

// Aggregates are keyed (time, target), not (target, time): every flush then writes at the end of the
// B-tree, a few pages for all targets, instead of one random page per target. Keyed by target first,
// 10,000 targets took about 430 ms per flush once the table held a million rows (the default 2 MB page
// cache thrashing); per-target reads instead do one point lookup per minute or hour of their window.
const SCHEMA_VERSION = 2
const SCHEMA = `
CREATE TABLE IF NOT EXISTS transitions (
  target TEXT NOT NULL, at INTEGER NOT NULL, from_status TEXT NOT NULL, to_status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_target_at ON transitions (target, at);
CREATE INDEX IF NOT EXISTS transitions_at ON transitions (at);
CREATE TABLE IF NOT EXISTS minutes (
  minute INTEGER NOT NULL, target TEXT NOT NULL, checks INTEGER NOT NULL, failures INTEGER NOT NULL, latency_sum REAL NOT NULL,
  PRIMARY KEY (minute, target)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hours (
  hour INTEGER NOT NULL, target TEXT NOT NULL, checks INTEGER NOT NULL, failures INTEGER NOT NULL, latency_sum REAL NOT NULL,
  PRIMARY KEY (hour, target)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);
`

/** (minute, target) order: the order of the minutes table's key. */
const byKey = (a: Agg, b: Agg): number => a.minute - b.minute || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)

export class HistoryStore {
  readonly kv: KvStore
  private readonly clock: Clock
  private readonly flushIntervalMs: number
  private readonly maxBufferedRows: number
  private readonly transitionRetentionMs: number
  private readonly minuteRetentionMs: number
  private readonly hourRetentionMs: number
  private readonly sumWindow
  private readonly oldestMinute: () => number | null
  /** Moves up to flushSliceRows targets' rows of `minute` into their hour. */
  private readonly rollMinute: (minute: number) => void
  private readonly expire: (hourCutoff: number, transitionCutoff: number) => void
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
    this.minuteRetentionMs = Math.max(HOUR_MS + MINUTE_MS, opts.minuteRetentionMs ?? 2 * HOUR_MS)
    this.hourRetentionMs = Math.max(7 * DAY_MS + HOUR_MS, opts.hourRetentionMs ?? 8 * DAY_MS)
    this.pruneIntervalMs = opts.pruneIntervalMs ?? MINUTE_MS
    this.onError = opts.onError ?? (() => {})
    // WAL: readers (the API) never block the writer; NORMAL sync is durable across process crashes.
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA synchronous = NORMAL')
    const version = (db.query('PRAGMA user_version').get() as { user_version: number }).user_version
    if (version !== SCHEMA_VERSION) {
      // Aggregates from an older layout are dropped, not migrated: they are a cache of uptime, not a record.
      db.exec('DROP TABLE IF EXISTS minutes; DROP TABLE IF EXISTS hours')
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`)
    }
    db.exec(SCHEMA)
    this.upsertMinute = db.prepare(
      `INSERT INTO minutes (target, minute, checks, failures, latency_sum) VALUES (?1, ?2, ?3, ?4, ?5)
       ON CONFLICT (minute, target) DO UPDATE SET checks = checks + excluded.checks,
         failures = failures + excluded.failures, latency_sum = latency_sum + excluded.latency_sum`,
    )
    this.insertTransition = db.prepare('INSERT INTO transitions (target, at, from_status, to_status) VALUES (?1, ?2, ?3, ?4)')
    this.writeBatch = db.transaction((aggs: Agg[], ts: Array<{ target: string } & Transition>) => {
      for (const a of aggs) this.upsertMinute.run(a.target, a.minute, a.checks, a.failures, a.latencySum)
      for (const t of ts) this.insertTransition.run(t.target, t.at, t.from, t.to)
    })
    // Every minute row is either still in `minutes` or was added to its hour exactly once (moved in one
    // transaction), so a window's total is the sum over both tables without double counting.
    // A minute is moved in slices of targets (up to ?3, the slice's last target), so 10,000 targets
    // never hold the event loop for one long transaction.
    const sliceEnd = db.prepare<{ target: string }, [number, number]>(
      'SELECT target FROM minutes WHERE minute = ?1 ORDER BY target LIMIT 1 OFFSET ?2',
    )
    const rollMinute = db.prepare(
      `INSERT INTO hours (hour, target, checks, failures, latency_sum)
       SELECT ?2, target, checks, failures, latency_sum FROM minutes WHERE minute = ?1 AND target <= ?3
       ON CONFLICT (hour, target) DO UPDATE SET checks = checks + excluded.checks,
         failures = failures + excluded.failures, latency_sum = latency_sum + excluded.latency_sum`,
    )
    const dropMinute = db.prepare('DELETE FROM minutes WHERE minute = ?1 AND target <= ?2')
    const oldest = db.prepare<{ m: number | null }, []>('SELECT MIN(minute) AS m FROM minutes')
    this.oldestMinute = () => oldest.get()?.m ?? null
    // Any target id sorts below this: ids are [A-Za-z0-9._-].
    const LAST = '\u{10FFFF}'
    this.rollMinute = db.transaction((minute: number) => {
      const end = sliceEnd.get(minute, this.flushSliceRows - 1)?.target ?? LAST
      rollMinute.run(minute, Math.floor(minute / HOUR_MS) * HOUR_MS, end)
      dropMinute.run(minute, end)
    })
    const dropHours = db.prepare('DELETE FROM hours WHERE hour < ?1')
    const dropTransitions = db.prepare('DELETE FROM transitions WHERE at < ?1')
    this.expire = db.transaction((hourCutoff: number, transitionCutoff: number) => {
      dropHours.run(hourCutoff)
      dropTransitions.run(transitionCutoff)
    })
    // One point lookup per minute and per hour of the window (the keys start with the time).
    this.sumWindow = db.query<{ checks: number | null; failures: number | null }, [string, number, number, number]>(
      `WITH RECURSIVE
         m(t) AS (SELECT ?2 UNION ALL SELECT t + ${MINUTE_MS} FROM m WHERE t + ${MINUTE_MS} <= ?4),
         h(t) AS (SELECT ?3 UNION ALL SELECT t + ${HOUR_MS} FROM h WHERE t + ${HOUR_MS} <= ?4)
       SELECT SUM(checks) AS checks, SUM(failures) AS failures FROM (
         SELECT checks, failures FROM m JOIN minutes ON minutes.minute = m.t AND minutes.target = ?1
         UNION ALL SELECT checks, failures FROM h JOIN hours ON hours.hour = h.t AND hours.target = ?1)`,
    )
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
    if (aggs.length > 0 || ts.length > 0) this.writeBatch(aggs, ts)
  }

  /** Rolls minutes past their retention up into hours, and deletes hours and transitions past theirs. */
  prune(): void {
    if (this.closed) return
    const now = this.clock.now()
    this.expire(now - this.hourRetentionMs, now - this.transitionRetentionMs)
    for (let m = this.oldestMinute(); m !== null && m < this.minuteCutoff(now); m = this.oldestMinute()) this.rollMinute(m)
  }

  private minuteCutoff(now: number): number {
    return Math.floor((now - this.minuteRetentionMs) / MINUTE_MS) * MINUTE_MS
  }

  /**
   * Uptime ratios (share of successful checks) over the last hour, day and week, buffered checks
   * included. The hour reads minutes; the day and the week also read hours, so their window starts
   * at the top of the hour: up to one hour longer than named.
   */
  uptime(targetId: string): Uptime {
    const now = this.clock.now()
    const pending = this.buffered(targetId)
    const ratio = (windowMs: number): number | null => {
      const from = now - windowMs
      const minuteFrom = Math.floor(from / MINUTE_MS) * MINUTE_MS
      // Minutes older than the retention are in hours: walk only the minutes that can exist.
      const walkFrom = Math.max(minuteFrom, Math.floor((now - this.minuteRetentionMs) / MINUTE_MS) * MINUTE_MS - MINUTE_MS)
      const row = this.sumWindow.get(targetId, walkFrom, Math.floor(from / HOUR_MS) * HOUR_MS, now)
      let checks = row?.checks ?? 0
      let failures = row?.failures ?? 0
      for (const a of pending) {
        if (a.minute < minuteFrom) continue
        checks += a.checks
        failures += a.failures
      }
      if (!checks) return null
      return (checks - failures) / checks
    }
    return { h1: ratio(HOUR_MS), h24: ratio(DAY_MS), d7: ratio(7 * DAY_MS) }
  }

  /** The last `n` transitions of a target, newest first. */
  recentTransitions(targetId: string, n: number): Transition[] {
    const stored = this.db
      .query<{ at: number; from_status: Status; to_status: Status }, [string, number]>(
        'SELECT at, from_status, to_status FROM transitions WHERE target = ?1 ORDER BY at DESC, rowid DESC LIMIT ?2',
      )
      .all(targetId, n)
      .map((r): Transition => ({ at: r.at, from: r.from_status, to: r.to_status }))
    // Not yet written ones are the newest; newest first, as they were recorded.
    const pending: Transition[] = []
    for (const t of [...this.outTransitions, ...this.transitions]) if (t.target === targetId) pending.push({ at: t.at, from: t.from, to: t.to })
    if (pending.length === 0) return stored
    return [...pending.reverse(), ...stored].sort((a, b) => b.at - a.at).slice(0, n)
  }

  /** Per-minute aggregates of a target from `sinceMs` (wall-clock), oldest first; for sparklines and the TUI. Minutes are kept for minuteRetentionMs. */
  minutes(targetId: string, sinceMs: number): Aggregate[] {
    return this.series('minutes', 'minute', MINUTE_MS, targetId, sinceMs)
  }

  /** Per-hour aggregates of a target from `sinceMs` (wall-clock), oldest first; only hours already rolled up from minutes. */
  hours(targetId: string, sinceMs: number): Aggregate[] {
    return this.series('hours', 'hour', HOUR_MS, targetId, sinceMs)
  }

  private series(table: 'minutes' | 'hours', col: 'minute' | 'hour', stepMs: number, targetId: string, sinceMs: number): Aggregate[] {
    const now = this.clock.now()
    // Never walk further back than the table keeps.
    const keep = table === 'minutes' ? this.minuteRetentionMs : this.hourRetentionMs
    const from = Math.floor(Math.max(sinceMs, now - keep - stepMs) / stepMs) * stepMs
    const rows = this.db
      .query<{ t: number; checks: number; failures: number; latency_sum: number }, [number, number, string]>(
        `WITH RECURSIVE s(t) AS (SELECT ?1 UNION ALL SELECT t + ${stepMs} FROM s WHERE t + ${stepMs} <= ?2)
         SELECT s.t AS t, checks, failures, latency_sum FROM s JOIN ${table} ON ${table}.${col} = s.t AND ${table}.target = ?3 ORDER BY s.t`,
      )
      .all(from, now, targetId)
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
    this.db.run('DELETE FROM hours WHERE target = ?1', [targetId])
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

  /** The timed prune: expiry at once, then minutes rolled up one slice per event-loop turn. */
  private onPruneTimer(): void {
    this.pruneTimer = null
    if (this.closed) return
    const now = this.clock.now()
    try {
      this.expire(now - this.hourRetentionMs, now - this.transitionRetentionMs)
    } catch (err) {
      this.onError(err)
    }
    this.rollStep(this.minuteCutoff(now))
  }

  private rollStep(cutoff: number): void {
    this.pruneTimer = null
    if (this.closed) return
    let more = false
    try {
      const m = this.oldestMinute()
      if (m !== null && m < cutoff) {
        this.rollMinute(m)
        more = true
      }
    } catch (err) {
      this.onError(err)
    }
    this.pruneTimer = more ? this.clock.after(0, () => this.rollStep(cutoff)) : this.clock.after(this.pruneIntervalMs, () => this.onPruneTimer())
  }
}
