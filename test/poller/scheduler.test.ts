import { describe, expect, test } from 'bun:test'
import type { Target } from '../../src/config/types.ts'
import { Registry } from '../../src/metrics/registry.ts'
import { Scheduler, type CheckInfo } from '../../src/poller/scheduler.ts'
import type { ProbeOutcome } from '../../src/poller/prober.ts'
import { SeededRng } from '../../src/seams/rng.ts'
import { SimClock } from '../sim/sim-clock.ts'
import { SimProber, runUntil, type Script } from './sim-prober.ts'

const SEED = Number(process.env.SIM_SEED ?? 42)

function target(id: string, over: Partial<Target> = {}): Target {
  return {
    id,
    check: { kind: 'http', url: `http://127.0.0.1:1/${id}`, method: 'GET', headers: {} },
    intervalMs: 1000,
    timeoutMs: 500,
    rise: 2,
    fall: 3,
    expect: { status: [] },
    connection: 'reuse',
    ...over,
  }
}

interface Rec {
  id: string
  outcome: ProbeOutcome
  info: CheckInfo
}

function setup(opts: { script?: (t: Target, n: number) => Script; honourAbort?: boolean; maxConcurrent?: number; seed?: number } = {}) {
  const clock = new SimClock()
  const prober = new SimProber(clock, opts.script, opts.honourAbort ?? true)
  const metrics = new Registry()
  const results: Rec[] = []
  const sched = new Scheduler({
    clock,
    rng: new SeededRng(opts.seed ?? SEED),
    prober,
    metrics,
    maxConcurrent: opts.maxConcurrent,
    onResult: (t, outcome, info) => results.push({ id: t.id, outcome, info }),
  })
  return { clock, prober, metrics, results, sched }
}

const seedNote = `(SIM_SEED=${SEED})`

describe('scheduler', () => {
  test(`first checks spread over the interval ${seedNote}`, async () => {
    const { clock, sched, prober } = setup()
    const ts = Array.from({ length: 1000 }, (_, i) => target(`t${i}`, { intervalMs: 10_000, timeoutMs: 5000 }))
    sched.setTargets(ts)
    await runUntil(clock, 9_999)
    const firsts = new Map<string, number>()
    for (const s of prober.starts) if (!firsts.has(s.id)) firsts.set(s.id, s.at)
    expect(firsts.size).toBe(1000)
    const buckets = new Array(10).fill(0)
    for (const at of firsts.values()) {
      expect(at).toBeGreaterThanOrEqual(0)
      expect(at).toBeLessThan(10_000)
      buckets[Math.floor(at / 1000)]++
    }
    // Uniform: each tenth of the interval gets about 100 (binomial sd ≈ 9.5).
    for (const b of buckets) expect(b).toBeGreaterThan(60)
    for (const b of buckets) expect(b).toBeLessThan(140)
    await sched.stop()
  })

  test(`targets taken over ("soon") are first checked within a tenth of the interval (at most 250 ms) ${seedNote}`, async () => {
    const { clock, sched, prober } = setup()
    const ts = Array.from({ length: 200 }, (_, i) => target(`t${i}`, { intervalMs: 1000, timeoutMs: 500 }))
    const soon = new Set(ts.slice(0, 100).map((t) => t.id))
    sched.setTargets(ts, soon)
    await runUntil(clock, 999)
    const firsts = new Map<string, number>()
    for (const s of prober.starts) if (!firsts.has(s.id)) firsts.set(s.id, s.at)
    for (const id of soon) expect(firsts.get(id)).toBeLessThan(100)
    // The others keep the usual spread: some of them land past the first tenth.
    expect(ts.slice(100).filter((t) => (firsts.get(t.id) ?? 0) >= 100).length).toBeGreaterThan(50)
    await sched.stop()
  })

  test(`no drift over 1,000 intervals with varying latency ${seedNote}`, async () => {
    const rng = new SeededRng(SEED + 1)
    const { clock, sched, results } = setup({ script: () => ({ latencyMs: 1 + rng.int(400) }) })
    sched.setTargets([target('a'), target('b', { intervalMs: 700, timeoutMs: 300 })])
    await runUntil(clock, 1000 * 1000 + 500)
    const a = results.filter((r) => r.id === 'a')
    expect(a.length).toBeGreaterThanOrEqual(1000)
    const first = (a[0] as Rec).info.scheduledAt
    a.forEach((r, k) => {
      expect(r.info.scheduledAt).toBe(first + k * 1000)
      expect(r.info.lagMs).toBe(0)
    })
    const b = results.filter((r) => r.id === 'b')
    const firstB = (b[0] as Rec).info.scheduledAt
    b.forEach((r, k) => expect(r.info.scheduledAt).toBe(firstB + k * 700))
    await sched.stop()
  })

  test('a check that overruns its interval skips slots: no overlap, no burst, still on the grid', async () => {
    // A prober that ignores the abort and takes 2.5 intervals.
    const { clock, sched, results, prober, metrics } = setup({ script: () => ({ latencyMs: 2500 }), honourAbort: false })
    sched.setTargets([target('slow')])
    await runUntil(clock, 30_000)
    expect(prober.overlaps).toBe(0)
    const first = (results[0] as Rec).info.scheduledAt
    for (const r of results) expect((r.info.scheduledAt - first) % 1000).toBe(0)
    // Starts are 3 slots apart (runs 2.5 s, so the next two slots are skipped).
    for (let i = 1; i < prober.starts.length; i++) {
      expect((prober.starts[i] as { at: number }).at - (prober.starts[i - 1] as { at: number }).at).toBe(3000)
    }
    expect(metrics.counter('heck_checks_skipped_total', '').get()).toBeGreaterThan(10)
    // This prober ignores the abort, so stop() settles only once its probe ends.
    const stopped = sched.stop()
    await runUntil(clock, 33_000)
    await stopped
  })

  test('the timeout aborts the probe at timeoutMs', async () => {
    const { clock, sched, results } = setup({ script: () => ({ latencyMs: 900 }) })
    sched.setTargets([target('t', { timeoutMs: 300 })])
    await runUntil(clock, 5000)
    expect(results.length).toBeGreaterThan(3)
    for (const r of results) {
      expect(r.outcome.ok).toBe(false)
      expect(r.outcome.latencyMs).toBe(300)
    }
  })

  test('each check times out at its own deadline, whatever the others (one deadline timer)', async () => {
    const { clock, sched, results } = setup({ script: () => ({ latencyMs: 950 }) })
    sched.setTargets([target('long', { timeoutMs: 800 }), target('short', { timeoutMs: 100 }), target('mid', { timeoutMs: 450 })])
    await runUntil(clock, 5000)
    const want: Record<string, number> = { long: 800, short: 100, mid: 450 }
    expect(new Set(results.map((r) => r.id))).toEqual(new Set(Object.keys(want)))
    for (const r of results) {
      expect(r.outcome.ok).toBe(false)
      expect(r.outcome.latencyMs).toBe(want[r.id] as number)
    }
    await sched.stop()
  })

  test('metrics: checks by result, durations and lag use the SPEC names', async () => {
    const { clock, sched, results, metrics } = setup({ script: (_t, n) => ({ latencyMs: 20, ok: n % 2 === 0 }) })
    sched.setTargets([target('m')])
    await runUntil(clock, 10_000)
    const text = metrics.render()
    const ok = results.filter((r) => r.outcome.ok).length
    expect(text).toContain(`heck_checks_total{result="ok"} ${ok}`)
    expect(text).toContain(`heck_checks_total{result="fail"} ${results.length - ok}`)
    expect(text).toContain(`heck_check_duration_seconds_count ${results.length}`)
    expect(text).toContain('heck_schedule_lag_seconds_bucket{le="0.001"}')
    await sched.stop()
  })

  test('a prober that throws gives a failed check, and the scheduler carries on', async () => {
    const clock = new SimClock()
    const results: ProbeOutcome[] = []
    const sched = new Scheduler({
      clock,
      rng: new SeededRng(SEED),
      prober: { probe: async () => { throw new Error('boom') } },
      metrics: new Registry(),
      onResult: (_t, o) => results.push(o),
    })
    sched.setTargets([target('x')])
    await runUntil(clock, 3500)
    expect(results.length).toBe(3)
    expect(results[0]).toMatchObject({ ok: false, error: 'boom' })
  })

  test(`the concurrency cap is respected and the excess queued ${seedNote}`, async () => {
    const { clock, sched, results, prober, metrics } = setup({ script: () => ({ latencyMs: 50 }), maxConcurrent: 10 })
    // 200 targets whose slots bunch into 20 instants: 10 at once each, twice the cap.
    const ts = Array.from({ length: 200 }, (_, i) => target(`t${i}`))
    sched.setTargets(ts)
    let maxQueued = 0
    clock.after(0, function poll() {
      maxQueued = Math.max(maxQueued, sched.queued)
      clock.after(1, poll)
    })
    await runUntil(clock, 10_000)
    expect(prober.maxActive).toBeLessThanOrEqual(10)
    expect(prober.maxActive).toBe(10)
    expect(prober.overlaps).toBe(0)
    // 200 × 50 ms of work per second over 10 slots is 100% load: everything still runs, with lag.
    expect(results.length).toBeGreaterThan(200 * 9)
    expect(maxQueued).toBeGreaterThan(0)
    const lags = results.map((r) => r.info.lagMs)
    expect(Math.max(...lags)).toBeGreaterThan(0)
    const hist = metrics.histogram('heck_schedule_lag_seconds', '')
    expect(hist.total).toBe(results.length + sched.inFlight)
    await sched.stop()
  })

  test('keep-alive HTTP checks have their own cap within the global one', async () => {
    const clock = new SimClock()
    const inner = new SimProber(clock, () => ({ latencyMs: 100 }))
    let reuseActive = 0
    let maxReuse = 0
    let maxAll = 0
    const results: Rec[] = []
    const sched = new Scheduler({
      clock,
      rng: new SeededRng(SEED),
      metrics: new Registry(),
      maxConcurrent: 20,
      maxConcurrentReuse: 5,
      prober: {
        async probe(t, signal) {
          const reuse = t.check.kind === 'http' && t.connection === 'reuse'
          if (reuse) maxReuse = Math.max(maxReuse, ++reuseActive)
          try {
            const o = await inner.probe(t, signal)
            maxAll = Math.max(maxAll, inner.maxActive)
            return o
          } finally {
            if (reuse) reuseActive--
          }
        },
      },
      onResult: (t, outcome, info) => results.push({ id: t.id, outcome, info }),
    })
    const ts = [
      ...Array.from({ length: 40 }, (_, i) => target(`r${i}`, { intervalMs: 2000, timeoutMs: 1000 })),
      ...Array.from({ length: 40 }, (_, i) => target(`n${i}`, { intervalMs: 2000, timeoutMs: 1000, connection: 'new' })),
      ...Array.from({ length: 40 }, (_, i) => target(`c${i}`, { intervalMs: 2000, timeoutMs: 1000, check: { kind: 'tcp', host: '127.0.0.1', port: 1 } })),
    ]
    sched.setTargets(ts)
    await runUntil(clock, 20_000)
    expect(maxReuse).toBe(5)
    expect(maxAll).toBeLessThanOrEqual(20)
    // 40 reuse checks × 100 ms per 2 s over 5 slots is 40% load: they all still run.
    const reuseChecks = results.filter((r) => r.id.startsWith('r')).length
    expect(reuseChecks).toBeGreaterThan(40 * 9 - 5)
    expect(inner.overlaps).toBe(0)
    await sched.stop()
  })

  test('setTargets keeps the phase of unchanged and updated targets; removes and adds', async () => {
    const { clock, sched, results } = setup()
    const ts = Array.from({ length: 50 }, (_, i) => target(`t${i}`))
    sched.setTargets(ts)
    await runUntil(clock, 5500)
    const phase = new Map<string, number>()
    for (const r of results) phase.set(r.id, r.info.scheduledAt % 1000)
    expect(phase.size).toBe(50)
    // Keep t0..t39 (same objects), update t40..t44 (new url, same interval), drop t45..t49, add n0.
    const next = [
      ...ts.slice(0, 40),
      ...ts.slice(40, 45).map((t) => ({ ...t, check: { kind: 'http' as const, url: 'http://127.0.0.1:2/', method: 'HEAD', headers: {} } })),
      target('n0'),
    ]
    sched.setTargets(next)
    const mark = results.length
    await runUntil(clock, 12_000)
    const after = results.slice(mark)
    for (const r of after) {
      if (r.id === 'n0') continue
      expect(r.info.scheduledAt % 1000).toBe(phase.get(r.id) as number)
    }
    const ids = new Set(after.map((r) => r.id))
    for (let i = 45; i < 50; i++) expect(ids.has(`t${i}`)).toBe(false)
    expect(ids.has('n0')).toBe(true)
    expect(sched.size).toBe(46)
    await sched.stop()
  })

  test('removing a target while its check runs and adding it back does not overlap two checks', async () => {
    const { clock, sched, prober, results } = setup({ script: () => ({ latencyMs: 400 }) })
    const t = target('x', { intervalMs: 500, timeoutMs: 450 })
    sched.setTargets([t])
    // Remove and re-add at many points of the cycle, some while a check runs.
    for (let k = 0; k < 40; k++) {
      await runUntil(clock, clock.monotonic() + 37)
      sched.setTargets([])
      await runUntil(clock, clock.monotonic() + 13)
      sched.setTargets([t])
    }
    await runUntil(clock, clock.monotonic() + 3000)
    expect(prober.overlaps).toBe(0)
    expect(results.length).toBeGreaterThan(3)
    expect(sched.size).toBe(1)
    await sched.stop()
  })

  test('an interval change re-spreads the target on the new interval', async () => {
    const { clock, sched, results } = setup()
    const t = target('t')
    sched.setTargets([t])
    await runUntil(clock, 3000)
    sched.setTargets([{ ...t, intervalMs: 2000, timeoutMs: 1000 }])
    const mark = results.length
    await runUntil(clock, 20_000)
    const after = results.slice(mark)
    for (let i = 1; i < after.length; i++) {
      expect((after[i] as Rec).info.scheduledAt - (after[i - 1] as Rec).info.scheduledAt).toBe(2000)
    }
  })

  test('stop aborts checks in flight and nothing is reported after', async () => {
    const { clock, sched, results, prober } = setup({ script: () => ({ latencyMs: 400 }) })
    sched.setTargets(Array.from({ length: 20 }, (_, i) => target(`t${i}`)))
    await runUntil(clock, 2000)
    const n = results.length
    const stopped = sched.stop()
    await stopped
    expect(prober.active).toBe(0)
    await runUntil(clock, 10_000)
    expect(results.length).toBe(n)
    expect(clock.pending).toBeLessThan(5)
  })

  test('the same seed gives the same schedule', async () => {
    const run = async () => {
      const { clock, sched, prober } = setup({ seed: 7, maxConcurrent: 3, script: (_t, n) => ({ latencyMs: 20 + (n % 5) * 30 }) })
      sched.setTargets(Array.from({ length: 30 }, (_, i) => target(`t${i}`)))
      await runUntil(clock, 5000)
      await sched.stop()
      return prober.starts.map((s) => `${s.id}@${s.at}`).join(',')
    }
    expect(await run()).toBe(await run())
  })
})
