/**
 * The SQL side of the history store (history.ts): schema, versioning and the
 * prepared statements, each a small operation the store calls. Kept apart so
 * history.ts reads as buffering and timing only.
 *
 * Aggregates are keyed (time, target), not (target, time): every flush then
 * writes at the end of the B-tree, a few pages for all targets, instead of one
 * random page per target. Keyed by target first, 10,000 targets took about
 * 430 ms per flush once the table held a million rows (the default 2 MB page
 * cache thrashing); per-target reads instead do one point lookup per minute or
 * hour of their window.
 */
import type { Database } from 'bun:sqlite'
import type { Status } from '../config/types.ts'

export const MINUTE_MS = 60_000
export const HOUR_MS = 60 * MINUTE_MS
export const DAY_MS = 24 * HOUR_MS

/** One target-minute of checks, as buffered and written. */
export interface Agg {
  target: string
  minute: number
  checks: number
  failures: number
  latencySum: number
}

export interface TransitionRow {
  target: string
  /** Wall-clock ms. */
  at: number
  from: Status
  to: Status
}

export interface SeriesRow {
  t: number
  checks: number
  failures: number
  latency_sum: number
}

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
`

const ADD = `checks = checks + excluded.checks, failures = failures + excluded.failures, latency_sum = latency_sum + excluded.latency_sum`

// Any target id sorts below this: ids are [A-Za-z0-9._-].
const LAST_ID = '\u{10FFFF}'

/** (minute, target) order: the order of the minutes table's key, so a sorted batch walks the B-tree once. */
export const byKey = (a: Agg, b: Agg): number => a.minute - b.minute || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)

export type HistorySql = ReturnType<typeof openHistorySql>

export function openHistorySql(db: Database) {
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

  const upsertMinute = db.prepare(
    `INSERT INTO minutes (minute, target, checks, failures, latency_sum) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (minute, target) DO UPDATE SET ${ADD}`,
  )
  const insertTransition = db.prepare('INSERT INTO transitions (target, at, from_status, to_status) VALUES (?1, ?2, ?3, ?4)')
  // Every minute row is either still in `minutes` or was added to its hour exactly once (moved in one
  // transaction), so a window's total is the sum over both tables without double counting. A minute is
  // moved in slices of targets (up to ?3, the slice's last target) to keep each transaction short.
  const sliceEnd = db.prepare<{ target: string }, [number, number]>('SELECT target FROM minutes WHERE minute = ?1 ORDER BY target LIMIT 1 OFFSET ?2')
  const rollMinute = db.prepare(
    `INSERT INTO hours (hour, target, checks, failures, latency_sum)
     SELECT ?2, target, checks, failures, latency_sum FROM minutes WHERE minute = ?1 AND target <= ?3
     ON CONFLICT (hour, target) DO UPDATE SET ${ADD}`,
  )
  const dropMinute = db.prepare('DELETE FROM minutes WHERE minute = ?1 AND target <= ?2')
  const oldest = db.prepare<{ m: number | null }, []>('SELECT MIN(minute) AS m FROM minutes')
  const dropHours = db.prepare('DELETE FROM hours WHERE hour < ?1')
  const dropTransitions = db.prepare('DELETE FROM transitions WHERE at < ?1')
  // One point lookup per minute and per hour of the window (the keys start with the time).
  const sumWindow = db.query<{ checks: number | null; failures: number | null }, [string, number, number, number]>(
    `WITH RECURSIVE
       m(t) AS (SELECT ?2 UNION ALL SELECT t + ${MINUTE_MS} FROM m WHERE t + ${MINUTE_MS} <= ?4),
       h(t) AS (SELECT ?3 UNION ALL SELECT t + ${HOUR_MS} FROM h WHERE t + ${HOUR_MS} <= ?4)
     SELECT SUM(checks) AS checks, SUM(failures) AS failures FROM (
       SELECT checks, failures FROM m JOIN minutes ON minutes.minute = m.t AND minutes.target = ?1
       UNION ALL SELECT checks, failures FROM h JOIN hours ON hours.hour = h.t AND hours.target = ?1)`,
  )
  const seriesQuery = (table: 'minutes' | 'hours', col: 'minute' | 'hour', stepMs: number) =>
    db.query<SeriesRow, [number, number, string]>(
      `WITH RECURSIVE s(t) AS (SELECT ?1 UNION ALL SELECT t + ${stepMs} FROM s WHERE t + ${stepMs} <= ?2)
       SELECT s.t AS t, checks, failures, latency_sum FROM s JOIN ${table} ON ${table}.${col} = s.t AND ${table}.target = ?3 ORDER BY s.t`,
    )
  const minuteSeries = seriesQuery('minutes', 'minute', MINUTE_MS)
  const hourSeries = seriesQuery('hours', 'hour', HOUR_MS)
  const lastTransitions = db.query<{ at: number; from_status: Status; to_status: Status }, [string, number]>(
    'SELECT at, from_status, to_status FROM transitions WHERE target = ?1 ORDER BY at DESC, rowid DESC LIMIT ?2',
  )

  return {
    /** Adds aggregates to their minute rows and appends transitions, in one transaction. */
    writeBatch: db.transaction((aggs: Agg[], ts: TransitionRow[]) => {
      for (const a of aggs) upsertMinute.run(a.minute, a.target, a.checks, a.failures, a.latencySum)
      for (const t of ts) insertTransition.run(t.target, t.at, t.from, t.to)
    }),
    /** Moves up to `sliceRows` targets' rows of `minute` into their hour, in one transaction. */
    rollMinute: db.transaction((minute: number, sliceRows: number) => {
      const end = sliceEnd.get(minute, sliceRows - 1)?.target ?? LAST_ID
      rollMinute.run(minute, Math.floor(minute / HOUR_MS) * HOUR_MS, end)
      dropMinute.run(minute, end)
    }),
    oldestMinute: (): number | null => oldest.get()?.m ?? null,
    expire: db.transaction((hourCutoff: number, transitionCutoff: number) => {
      dropHours.run(hourCutoff)
      dropTransitions.run(transitionCutoff)
    }),
    /** Checks and failures of a target from minute `minuteFrom` and hour `hourFrom` up to `now`. */
    sumWindow: (target: string, minuteFrom: number, hourFrom: number, now: number) => sumWindow.get(target, minuteFrom, hourFrom, now),
    series: (table: 'minutes' | 'hours', target: string, from: number, now: number): SeriesRow[] =>
      (table === 'minutes' ? minuteSeries : hourSeries).all(from, now, target),
    lastTransitions: (target: string, n: number) => lastTransitions.all(target, n),
    forget: db.transaction((target: string) => {
      db.run('DELETE FROM hours WHERE target = ?1', [target])
      db.run('DELETE FROM transitions WHERE target = ?1', [target])
      db.run('DELETE FROM minutes WHERE target = ?1', [target])
    }),
  }
}
