/**
 * Scheduler invariants over many seeded random scenarios (fast-check): random
 * targets (intervals, timeouts, connection modes), random probe latencies that
 * sometimes ignore the timeout, random caps, and random setTargets changes on the way.
 * Invariants: never two checks of one target at once; the caps hold; every slot
 * is on its target's grid (phase kept across unchanged updates); lag never negative.
 */
import { expect, test } from 'bun:test'
import fc from 'fast-check'
import type { Target } from '../../src/config/types.ts'
import { Registry } from '../../src/metrics/registry.ts'
import { Scheduler } from '../../src/poller/scheduler.ts'
import type { ProbeOutcome } from '../../src/poller/prober.ts'
import { SeededRng } from '../../src/seams/rng.ts'
import { SimClock } from '../sim/sim-clock.ts'
import { runUntil } from './sim-prober.ts'

const SEED = Number(process.env.SIM_SEED ?? 20261123)

function mkTarget(id: string, intervalMs: number, timeoutFrac: number, mode: 'reuse' | 'new' | 'tcp'): Target {
  return {
    id,
    check: mode === 'tcp' ? { kind: 'tcp', host: '127.0.0.1', port: 1 } : { kind: 'http', url: `http://x/${id}`, method: 'GET', headers: {} },
    intervalMs,
    timeoutMs: Math.max(1, Math.floor(intervalMs * timeoutFrac)),
    rise: 1,
    fall: 1,
    expect: { status: [] },
    connection: mode === 'new' ? 'new' : 'reuse',
  }
}

test(`scheduler invariants hold over random scenarios (SIM_SEED=${SEED})`, async () => {
  // fc.assert throws with the counterexample when the property fails; the count shows it ran every case.
  let runs = 0
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 6 }),
      async (seed, nTargets, cap, reuseCap) => {
        runs++
        const rng = new SeededRng(seed)
        const clock = new SimClock()
        const modes = ['reuse', 'new', 'tcp'] as const
        let targets = Array.from({ length: nTargets }, (_, i) =>
          mkTarget(`t${i}`, 100 + rng.int(1900), 0.2 + rng.next() * 0.7, modes[rng.int(3)] as (typeof modes)[number]),
        )
        const active = new Map<string, number>()
        let all = 0
        let reuse = 0
        let maxAll = 0
        let maxReuse = 0
        let overlaps = 0
        let negativeLag = 0
        const phases = new Map<string, { interval: number; phase: number }>()
        let offGrid = 0
        const sched = new Scheduler({
          clock,
          rng: rng.fork('sched'),
          metrics: new Registry(),
          maxConcurrent: cap,
          maxConcurrentReuse: reuseCap,
          prober: {
            probe(t, signal): Promise<ProbeOutcome> {
              const isReuse = t.check.kind === 'http' && t.connection === 'reuse'
              const n = (active.get(t.id) ?? 0) + 1
              if (n > 1) overlaps++
              active.set(t.id, n)
              all++
              maxAll = Math.max(maxAll, all)
              if (isReuse) maxReuse = Math.max(maxReuse, ++reuse)
              const latency = rng.int(Math.floor(t.intervalMs * 2.5))
              const honour = rng.next() < 0.8
              return new Promise((resolve) => {
                let done = false
                const finish = () => {
                  if (done) return
                  done = true
                  active.set(t.id, (active.get(t.id) ?? 1) - 1)
                  all--
                  if (isReuse) reuse--
                  resolve({ ok: true, latencyMs: latency })
                }
                const cancel = clock.after(latency, finish)
                if (honour) signal.addEventListener('abort', () => (cancel(), finish()))
              })
            },
          },
          onResult: (t, _o, info) => {
            if (info.lagMs < 0) negativeLag++
            const p = phases.get(t.id)
            const ph = ((info.scheduledAt % t.intervalMs) + t.intervalMs) % t.intervalMs
            if (!p || p.interval !== t.intervalMs) phases.set(t.id, { interval: t.intervalMs, phase: ph })
            else if (Math.abs(p.phase - ph) > 1e-6 && Math.abs(Math.abs(p.phase - ph) - t.intervalMs) > 1e-6) offGrid++
          },
        })
        sched.setTargets(targets)
        for (let step = 0; step < 6; step++) {
          await runUntil(clock, clock.monotonic() + 500 + rng.int(3000))
          // Random change: drop some, add some, update some (same interval: phase must hold).
          targets = targets.filter(() => rng.next() > 0.15)
          targets = targets.map((t) => (rng.next() < 0.2 ? { ...t, check: { ...t.check } } as Target : t))
          for (let k = rng.int(4); k > 0; k--) targets.push(mkTarget(`n${step}-${k}`, 100 + rng.int(1900), 0.5, modes[rng.int(3)] as (typeof modes)[number]))
          sched.setTargets(targets)
        }
        await runUntil(clock, clock.monotonic() + 5000)
        const stopped = sched.stop()
        await runUntil(clock, clock.monotonic() + 10_000)
        await stopped
        const ok = overlaps === 0 && maxAll <= cap && maxReuse <= reuseCap && negativeLag === 0 && offGrid === 0
        if (!ok) console.error(`SIM_SEED=${SEED} seed=${seed}`, { overlaps, maxAll, cap, maxReuse, reuseCap, negativeLag, offGrid })
        return ok
      },
    ),
    { seed: SEED, numRuns: 40 },
  )
  expect(runs).toBe(40)
})
