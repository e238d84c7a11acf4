/**
 * Grouping of check slots into shared timer wake-ups (SchedulerOptions.coalesceMaxMs):
 * at low rates slots sit on a grid, so many checks start per wake-up, while each
 * target keeps its exact interval; at high rates nothing is grouped.
 */
import { describe, expect, test } from 'bun:test'
import type { Target } from '../../src/config/types.ts'
import { Registry } from '../../src/metrics/registry.ts'
import { Scheduler, type CheckInfo } from '../../src/poller/scheduler.ts'
import { SeededRng } from '../../src/seams/rng.ts'
import { SimClock } from '../sim/sim-clock.ts'
import { SimProber, runUntil } from './sim-prober.ts'

const SEED = Number(process.env.SIM_SEED ?? 42)
const seedNote = `(SIM_SEED=${SEED})`

function target(id: string, intervalMs = 1000): Target {
  return {
    id,
    check: { kind: 'http', url: `http://127.0.0.1:1/${id}`, method: 'GET', headers: {} },
    intervalMs,
    timeoutMs: Math.floor(intervalMs / 2),
    rise: 2,
    fall: 3,
    expect: { status: [] },
    connection: 'new',
  }
}

function setup(coalesceMaxMs: number) {
  const clock = new SimClock()
  // Start off any grid, as a real monotonic clock would.
  clock.advance(1234.567)
  const prober = new SimProber(clock, () => ({ latencyMs: 3 }))
  const results: Array<{ id: string; info: CheckInfo }> = []
  const sched = new Scheduler({
    clock,
    rng: new SeededRng(SEED),
    prober,
    metrics: new Registry(),
    coalesceMaxMs,
    onResult: (t, _o, info) => results.push({ id: t.id, info }),
  })
  return { clock, prober, sched, results }
}

const distinct = (xs: number[]) => new Set(xs).size

describe('scheduler: grouped wake-ups', () => {
  test(`125 targets at 1 s start on a 100 ms grid, exactly 1 s apart, no lag ${seedNote}`, async () => {
    const { clock, prober, sched, results } = setup(100)
    sched.setTargets(Array.from({ length: 125 }, (_, i) => target(`t${i}`)))
    await runUntil(clock, clock.monotonic() + 5000)
    const starts = prober.starts.map((s) => s.at)
    expect(starts.length).toBeGreaterThanOrEqual(4 * 125)
    for (const at of starts) expect(at % 100).toBe(0)
    // At most 10 wake-ups a second (5 s here, plus the partial first second), not 125.
    expect(distinct(starts)).toBeLessThanOrEqual(60)
    for (let i = 0; i < 125; i++) {
      const mine = results.filter((r) => r.id === `t${i}`).map((r) => r.info)
      for (let k = 1; k < mine.length; k++) expect((mine[k] as CheckInfo).scheduledAt - (mine[k - 1] as CheckInfo).scheduledAt).toBe(1000)
      for (const c of mine) expect(c.lagMs).toBe(0)
    }
    await sched.stop()
  })

  test(`without grouping (the default), first checks keep their random phase ${seedNote}`, async () => {
    const { clock, prober, sched } = setup(0)
    sched.setTargets(Array.from({ length: 125 }, (_, i) => target(`t${i}`)))
    await runUntil(clock, clock.monotonic() + 999)
    expect(distinct(prober.starts.map((s) => s.at))).toBe(125)
    await sched.stop()
  })

  test(`at a high rate (10,000 targets at 1 s) nothing is grouped ${seedNote}`, async () => {
    const { clock, prober, sched } = setup(100)
    sched.setTargets(Array.from({ length: 10_000 }, (_, i) => target(`t${i}`)))
    await runUntil(clock, clock.monotonic() + 200)
    const starts = prober.starts.map((s) => s.at)
    expect(starts.length).toBeGreaterThan(1000)
    expect(starts.filter((at) => at % 5 !== 0).length).toBeGreaterThan(starts.length / 2)
    await sched.stop()
  })

  test(`an interval no step divides gets a step of at most 5 % of it, and starts at most one step late ${seedNote}`, async () => {
    const { clock, sched, results } = setup(100)
    sched.setTargets(Array.from({ length: 50 }, (_, i) => target(`t${i}`, 730)))
    await runUntil(clock, clock.monotonic() + 10_000)
    expect(results.length).toBeGreaterThan(50 * 12)
    // 730 ms: 100, 50 and 25 do not divide it; 25 ≤ 36.5 (5 %) is the step.
    for (const r of results) expect(r.info.lagMs).toBeLessThan(25)
    for (let i = 0; i < 50; i++) {
      const mine = results.filter((r) => r.id === `t${i}`).map((r) => r.info)
      for (let k = 1; k < mine.length; k++) expect((mine[k] as CheckInfo).scheduledAt - (mine[k - 1] as CheckInfo).scheduledAt).toBe(730)
      for (let k = 1; k < mine.length; k++) {
        const gap = (mine[k] as CheckInfo).startedAt - (mine[k - 1] as CheckInfo).startedAt
        expect(Math.abs(gap - 730)).toBeLessThan(25)
      }
    }
    await sched.stop()
  })

  test(`taken-over targets ("soon") still start within a tenth of the interval ${seedNote}`, async () => {
    const { clock, prober, sched } = setup(100)
    const t0 = clock.monotonic()
    const ts = Array.from({ length: 200 }, (_, i) => target(`t${i}`))
    sched.setTargets(ts, new Set(ts.map((t) => t.id)))
    await runUntil(clock, t0 + 999)
    const firsts = new Map<string, number>()
    for (const s of prober.starts) if (!firsts.has(s.id)) firsts.set(s.id, s.at)
    expect(firsts.size).toBe(200)
    for (const at of firsts.values()) expect(at - t0).toBeLessThanOrEqual(100)
    await sched.stop()
  })
})
