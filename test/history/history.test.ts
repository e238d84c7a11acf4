import { afterEach, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CheckResult } from '../../src/config/types.ts'
import { HistoryStore } from '../../src/history/history.ts'
import { SimClock } from '../sim/sim-clock.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
// An epoch on a minute boundary keeps the arithmetic readable.
const EPOCH = 1_700_000_040_000

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'heck-history-'))
  dirs.push(d)
  return d
}

const check = (at: number, ok: boolean, latency = 10): CheckResult => ({ ok, latency_ms: latency, checked_at: at, checker: 'n1' })

function memStore(clock: SimClock, opts: Partial<ConstructorParameters<typeof HistoryStore>[1]> = {}) {
  return new HistoryStore(new Database(':memory:'), { clock, ...opts })
}

describe('history store', () => {
  test('checks fold into per-minute aggregates, one row per target-minute', () => {
    const clock = new SimClock(EPOCH)
    const h = memStore(clock)
    for (let s = 0; s < 120; s++) h.recordCheck('a', check(EPOCH + s * 1000, s % 10 !== 0, 5))
    h.recordCheck('b', check(EPOCH, true, 7))
    clock.runUntil(2 * MIN)
    const rows = h.minutes('a', EPOCH)
    expect(rows).toEqual([
      { start: EPOCH, checks: 60, failures: 6, latencySumMs: 300 },
      { start: EPOCH + MIN, checks: 60, failures: 6, latencySumMs: 300 },
    ])
    expect(h.minutes('b', 0)).toEqual([{ start: EPOCH, checks: 1, failures: 0, latencySumMs: 7 }])
    // Later checks of a flushed minute add to its row.
    h.recordCheck('b', check(EPOCH + 30_000, false, 3))
    expect(h.minutes('b', 0)).toEqual([{ start: EPOCH, checks: 2, failures: 1, latencySumMs: 10 }])
    h.close()
  })

  test('writes are batched: nothing reaches the database until the flush timer', () => {
    const clock = new SimClock(EPOCH)
    const db = new Database(':memory:')
    const h = new HistoryStore(db, { clock, flushIntervalMs: 5000 })
    for (let i = 0; i < 100; i++) h.recordCheck(`t${i}`, check(EPOCH + i, true))
    h.recordTransition('t1', 'unknown', 'healthy', EPOCH + 5)
    const count = () => (db.query('SELECT COUNT(*) AS n FROM minutes').get() as { n: number }).n
    expect(count()).toBe(0)
    clock.advance(4999)
    expect(count()).toBe(0)
    clock.advance(1)
    expect(count()).toBe(100)
    expect((db.query('SELECT COUNT(*) AS n FROM transitions').get() as { n: number }).n).toBe(1)
    h.close()
  })

  test('a full buffer flushes early, off the recording call', () => {
    const clock = new SimClock(EPOCH)
    const db = new Database(':memory:')
    const h = new HistoryStore(db, { clock, flushIntervalMs: 60_000, maxBufferedRows: 50 })
    for (let i = 0; i < 60; i++) h.recordCheck(`t${i}`, check(EPOCH, true))
    const count = () => (db.query('SELECT COUNT(*) AS n FROM minutes').get() as { n: number }).n
    expect(count()).toBe(0)
    clock.advance(0)
    expect(count()).toBe(60)
    h.close()
  })

  test('a big timed flush is written in slices, one per turn; reads in between see everything without writing', () => {
    const clock = new SimClock(EPOCH)
    const db = new Database(':memory:')
    const h = new HistoryStore(db, { clock, flushIntervalMs: 10_000, flushSliceRows: 1000, pruneIntervalMs: 1e9 })
    for (let i = 0; i < 2500; i++) h.recordCheck(`t${i}`, check(EPOCH, i % 2 === 0))
    const count = () => (db.query('SELECT COUNT(*) AS n FROM minutes').get() as { n: number }).n
    clock.runUntil(9_999)
    expect(count()).toBe(0)
    clock.step() // the flush timer: first slice
    expect(count()).toBe(1000)
    clock.step() // next turn: second slice
    expect(count()).toBe(2000)
    h.recordCheck('t0', check(EPOCH + 1, false))
    // Reads see the unwritten rest of the batch and the new buffer without writing anything.
    expect(h.minutes('t0', 0)).toEqual([{ start: EPOCH, checks: 2, failures: 1, latencySumMs: 20 }])
    expect(h.minutes('t2400', 0)).toEqual([{ start: EPOCH, checks: 1, failures: 0, latencySumMs: 10 }])
    expect(h.uptime('t0').h1).toBe(0.5)
    expect(count()).toBe(2000)
    clock.step()
    expect(count()).toBe(2500)
    clock.advance(10_000)
    expect(h.minutes('t0', 0)).toEqual([{ start: EPOCH, checks: 2, failures: 1, latencySumMs: 20 }])
    h.close()
  })

  test('transitions: newest first, limited to n', () => {
    const clock = new SimClock(EPOCH)
    const h = memStore(clock)
    h.recordTransition('a', 'unknown', 'healthy', EPOCH + 1000)
    h.recordTransition('a', 'healthy', 'unhealthy', EPOCH + 2000)
    h.recordTransition('a', 'unhealthy', 'healthy', EPOCH + 3000)
    h.recordTransition('b', 'unknown', 'unhealthy', EPOCH + 1500)
    expect(h.recentTransitions('a', 2)).toEqual([
      { at: EPOCH + 3000, from: 'unhealthy', to: 'healthy' },
      { at: EPOCH + 2000, from: 'healthy', to: 'unhealthy' },
    ])
    expect(h.recentTransitions('b', 10)).toHaveLength(1)
    // Mixed: some written, some still buffered.
    h.flush()
    h.recordTransition('a', 'healthy', 'unhealthy', EPOCH + 4000)
    expect(h.recentTransitions('a', 2).map((t) => t.at)).toEqual([EPOCH + 4000, EPOCH + 3000])
    expect(h.recentTransitions('none', 10)).toEqual([])
    h.close()
  })

  test('uptime ratios for 1h, 24h and 7d, across minutes and rolled-up hours', () => {
    const clock = new SimClock(EPOCH)
    const h = memStore(clock)
    const now = EPOCH + 8 * DAY
    // 6 days ago: 100 checks, all failed. 12 hours ago: 100 checks, all ok. Last 30 minutes: 90 ok, 10 failed.
    for (let i = 0; i < 100; i++) h.recordCheck('a', check(now - 6 * DAY + i * 1000, false))
    for (let i = 0; i < 100; i++) h.recordCheck('a', check(now - 12 * HOUR + i * 1000, true))
    for (let i = 0; i < 100; i++) h.recordCheck('a', check(now - 30 * MIN + i * 1000, i >= 10))
    clock.runUntil(8 * DAY) // SimClock's monotonic origin is EPOCH; flushes and roll-ups run on the way
    expect(clock.now()).toBe(now)
    const u = h.uptime('a')
    expect(u.h1).toBeCloseTo(0.9)
    expect(u.h24).toBeCloseTo(190 / 200)
    expect(u.d7).toBeCloseTo(190 / 300)
    expect(h.uptime('nothing')).toEqual({ h1: null, h24: null, d7: null })
    // Older than 2 hours lives in hours only; every check is counted exactly once.
    expect(h.minutes('a', 0).reduce((n, r) => n + r.checks, 0)).toBe(100)
    const hours = h.hours('a', 0)
    expect(hours.reduce((n, r) => n + r.checks, 0)).toBe(200)
    expect(hours.map((r) => r.failures)).toEqual([100, 0])
    h.close()
  })

  test('retention: minutes roll up into hours, hours and transitions expire', () => {
    const clock = new SimClock(EPOCH)
    const h = memStore(clock, { transitionRetentionMs: 10 * DAY })
    h.recordCheck('a', check(EPOCH, true))
    h.recordTransition('a', 'unknown', 'healthy', EPOCH)
    clock.advance(2 * HOUR + 2 * MIN)
    expect(h.minutes('a', 0)).toEqual([])
    expect(h.hours('a', 0)).toEqual([{ start: Math.floor(EPOCH / HOUR) * HOUR, checks: 1, failures: 0, latencySumMs: 10 }])
    expect(h.uptime('a').h24).toBe(1)
    clock.advance(8 * DAY)
    expect(h.hours('a', 0)).toEqual([])
    expect(h.recentTransitions('a', 5)).toHaveLength(1)
    clock.advance(2 * DAY)
    expect(h.recentTransitions('a', 5)).toEqual([])
    h.close()
  })

  test('roll-up moves big minutes in slices and loses nothing', () => {
    const clock = new SimClock(EPOCH)
    const db = new Database(':memory:')
    const h = new HistoryStore(db, { clock, flushSliceRows: 1000 })
    for (let i = 0; i < 2500; i++) h.recordCheck(`t${String(i).padStart(4, '0')}`, check(EPOCH + 1000, i % 5 === 0))
    for (let i = 0; i < 2500; i++) h.recordCheck(`t${String(i).padStart(4, '0')}`, check(EPOCH + MIN, true))
    clock.advance(2 * HOUR + 3 * MIN)
    const n = (sql: string) => (db.query(sql).get() as { n: number }).n
    expect(n('SELECT COUNT(*) AS n FROM minutes')).toBe(0)
    expect(n('SELECT SUM(checks) AS n FROM hours')).toBe(5000)
    expect(n('SELECT SUM(failures) AS n FROM hours')).toBe(2000)
    expect(n('SELECT COUNT(*) AS n FROM hours')).toBe(2500)
    expect(h.uptime('t0000').h24).toBe(1)
    expect(h.uptime('t0001').h24).toBe(0.5)
    h.close()
  })

  test('close flushes; a reopened store sees everything; kv persists; WAL is on', async () => {
    const dir = tmp()
    const clock = new SimClock(EPOCH)
    const h = await HistoryStore.open(dir, { clock, flushIntervalMs: 1e9 })
    h.recordCheck('a', check(EPOCH, true, 4))
    h.recordCheck('a', check(EPOCH + 1, false, 6))
    h.recordTransition('a', 'unknown', 'healthy', EPOCH)
    h.kv.put('replica-id', 'r-123')
    h.kv.put('snapshot', new Uint8Array([1, 2, 3, 255]))
    h.kv.put('gone', 'x')
    h.kv.delete('gone')
    h.close()
    h.close() // idempotent
    const db = new Database(join(dir, 'history.sqlite'))
    expect((db.query('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal')
    db.close()
    const h2 = await HistoryStore.open(dir, { clock })
    expect(h2.minutes('a', 0)).toEqual([{ start: EPOCH, checks: 2, failures: 1, latencySumMs: 10 }])
    expect(h2.recentTransitions('a', 5)).toHaveLength(1)
    expect(new TextDecoder().decode(h2.kv.get('replica-id'))).toBe('r-123')
    expect([...(h2.kv.get('snapshot') as Uint8Array)]).toEqual([1, 2, 3, 255])
    expect(h2.kv.get('gone')).toBeUndefined()
    h2.close()
  })

  test('records after close are ignored, not thrown', () => {
    const clock = new SimClock(EPOCH)
    const h = memStore(clock)
    h.close()
    expect(() => h.recordCheck('a', check(EPOCH, true))).not.toThrow()
    expect(() => h.recordTransition('a', 'unknown', 'healthy', EPOCH)).not.toThrow()
    clock.advance(10_000)
  })

  test('forget drops a target', () => {
    const clock = new SimClock(EPOCH)
    const h = memStore(clock)
    h.recordCheck('a', check(EPOCH, true))
    h.recordTransition('a', 'unknown', 'healthy', EPOCH)
    h.forget('a')
    expect(h.minutes('a', 0)).toEqual([])
    expect(h.recentTransitions('a', 5)).toEqual([])
    h.close()
  })
})
