/**
 * History store costs at scale: N targets, one check each per minute of
 * simulated time (SimClock), on a real SQLite file in a temp dir. Prints the fill
 * rate, the cost of a timed-flush slice, a minute roll-up slice, an uptime
 * read, and the file size.
 *
 *   bun bench/history-store.ts [--targets 10000] [--minutes 125]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HistoryStore } from '../src/history/history.ts'
import type { HistorySql } from '../src/history/history-sql.ts'
import { SimClock } from '../test/sim/sim-clock.ts'

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : dflt
}
const N = Number(arg('targets', '10000'))
const M = Number(arg('minutes', '125'))
const MIN = 60_000
const dir = mkdtempSync(join(tmpdir(), 'heck-history-bench-'))
const E = 1_699_999_200_000 // on an hour boundary
const clock = new SimClock(E)
const h = await HistoryStore.open(dir, { clock, flushIntervalMs: 1e12, pruneIntervalMs: 1e12 })
const ids = Array.from({ length: N }, (_, i) => `target-${i}`)
const stats = (xs: number[]) => {
  xs.sort((a, b) => a - b)
  return `median ${(xs[Math.floor(xs.length / 2)] ?? 0).toFixed(1)} ms, max ${(xs[xs.length - 1] ?? 0).toFixed(1)} ms`
}

const flushes: number[] = []
const t0 = performance.now()
for (let m = 0; m < M; m++) {
  for (const id of ids) h.recordCheck(id, { ok: id.length % 7 !== 0, latency_ms: 1.5, checked_at: E + m * MIN, checker: 'n' })
  const t = performance.now()
  h.flush()
  flushes.push(performance.now() - t)
}
console.log(`history-store: ${N} targets, ${M} minutes of one check per target-minute (${((N * M) / 1e6).toFixed(2)} M checks)`)
console.log(`  fill          ${((performance.now() - t0) / 1000).toFixed(1)} s; ${N}-row flush in one transaction: ${stats(flushes)}`)

// The timed flush writes 1,000-row slices; time them directly.
const slices: number[] = []
for (let k = 0; k < 10; k++) {
  for (let i = 0; i < 1000; i++) h.recordCheck(ids[(k * 1000 + i) % N] as string, { ok: true, latency_ms: 1, checked_at: E + (M - 1) * MIN, checker: 'n' })
  const t = performance.now()
  h.flush()
  slices.push(performance.now() - t)
}
console.log(`  1,000-row flush slice: ${stats(slices)}`)

// Roll-up: advance so that minutes fall out of the 2 h window, then time the 1,000-row steps.
clock.runUntil(M * MIN)
const rolls: number[] = []
// The store's own SQL operations, reached past `private` to time one step at a time.
const hh = (h as unknown as { sql: HistorySql }).sql
for (let k = 0; k < 30; k++) {
  const m = hh.oldestMinute()
  if (m === null) break
  const t = performance.now()
  hh.rollMinute(m, 1000)
  rolls.push(performance.now() - t)
}
console.log(`  roll-up step (1,000 target-minutes into hours): ${stats(rolls)}`)
const reads: number[] = []
for (let k = 0; k < 20; k++) {
  const t = performance.now()
  h.uptime(ids[k * 37 % N] as string)
  reads.push(performance.now() - t)
}
console.log(`  uptime(id) (1h, 24h, 7d): ${stats(reads)}`)
h.close()
console.log(`  file size     ${(statSync(join(dir, 'history.sqlite')).size / 1048576).toFixed(0)} MiB`)
rmSync(dir, { recursive: true, force: true })
