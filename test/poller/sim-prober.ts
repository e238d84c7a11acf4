/**
 * A simulated Prober on the simulated clock: each probe takes a scripted latency
 * and returns a scripted result; it honours the AbortSignal (unless told to ignore
 * it, to model a misbehaving prober). It records start/end events so tests can
 * check overlap and concurrency.
 */
import type { Target } from '../../src/config/types.ts'
import type { Prober, ProbeOutcome } from '../../src/poller/prober.ts'
import type { SimClock } from '../sim/sim-clock.ts'

export interface Script {
  latencyMs: number
  ok?: boolean
}

export class SimProber implements Prober {
  active = 0
  maxActive = 0
  readonly activeByTarget = new Map<string, number>()
  overlaps = 0
  readonly starts: Array<{ id: string; at: number }> = []
  constructor(
    private readonly clock: SimClock,
    private readonly script: (t: Target, n: number) => Script = () => ({ latencyMs: 10 }),
    private readonly honourAbort = true,
  ) {}
  private counts = new Map<string, number>()

  probe(target: Target, signal: AbortSignal): Promise<ProbeOutcome> {
    const n = this.counts.get(target.id) ?? 0
    this.counts.set(target.id, n + 1)
    const s = this.script(target, n)
    const t0 = this.clock.monotonic()
    this.starts.push({ id: target.id, at: t0 })
    this.active++
    this.maxActive = Math.max(this.maxActive, this.active)
    const mine = (this.activeByTarget.get(target.id) ?? 0) + 1
    if (mine > 1) this.overlaps++
    this.activeByTarget.set(target.id, mine)
    return new Promise((resolve) => {
      let done = false
      const finish = (o: ProbeOutcome) => {
        if (done) return
        done = true
        this.active--
        this.activeByTarget.set(target.id, (this.activeByTarget.get(target.id) ?? 1) - 1)
        resolve(o)
      }
      const cancel = this.clock.after(s.latencyMs, () => finish({ ok: s.ok ?? true, latencyMs: s.latencyMs }))
      if (this.honourAbort) {
        signal.addEventListener('abort', () => {
          cancel()
          finish({ ok: false, latencyMs: this.clock.monotonic() - t0, error: 'timeout' })
        })
      }
    })
  }
}

/** Lets promise continuations (probe completions) run between simulated events. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

/**
 * Runs the simulation to monotonic time `until`, one event at a time, letting
 * microtasks settle after each, so async completions happen at their simulated time.
 */
export async function runUntil(clock: SimClock, until: number): Promise<void> {
  let reached = false
  clock.after(until - clock.monotonic(), () => {
    reached = true
  })
  while (!reached && clock.step()) await settle()
}
