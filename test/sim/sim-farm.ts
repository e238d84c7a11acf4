/**
 * A simulated target farm for whole-agent simulations: every target is up unless
 * the scenario marks it down (for everyone, or only as seen from some nodes), and
 * every check is logged as (simulated ms, checking node). The farm hands each agent
 * a Prober that answers on that agent's clock after a fixed latency and honours
 * the scheduler's AbortSignal, as the real prober does.
 */
import type { Target } from '../../src/config/types.ts'
import type { Prober, ProbeOutcome } from '../../src/poller/prober.ts'
import type { Clock } from '../../src/seams/clock.ts'

export class SimFarm {
  /** Targets failing for every checker. */
  readonly down = new Set<string>()
  /** Targets failing only when checked from these nodes (trouble near the checker). */
  readonly downFrom = new Map<string, Set<string>>()
  /** Per target: check start times (monotonic ms) and checker indexes, in order. */
  private readonly at = new Map<string, number[]>()
  private readonly by = new Map<string, number[]>()
  private readonly nodeIdx = new Map<string, number>()
  readonly nodeNames: string[] = []
  checks = 0

  constructor(private readonly now: () => number, readonly latencyMs = 5) {}

  private idx(node: string): number {
    let i = this.nodeIdx.get(node)
    if (i === undefined) {
      i = this.nodeNames.length
      this.nodeNames.push(node)
      this.nodeIdx.set(node, i)
    }
    return i
  }

  failing(id: string, node: string): boolean {
    return this.down.has(id) || (this.downFrom.get(id)?.has(node) ?? false)
  }

  /** The prober one agent uses; `clock` is that agent's own (it stops when the agent crashes). */
  prober(node: string, clock: Clock): Prober {
    const ni = this.idx(node)
    return {
      probe: (t: Target, signal: AbortSignal): Promise<ProbeOutcome> => {
        this.checks++
        const at = this.at.get(t.id) ?? this.at.set(t.id, []).get(t.id)!
        const by = this.by.get(t.id) ?? this.by.set(t.id, []).get(t.id)!
        at.push(this.now())
        by.push(ni)
        return new Promise((resolve) => {
          const cancel = clock.after(this.latencyMs, () => {
            signal.removeEventListener('abort', onAbort)
            const fail = this.failing(t.id, node)
            resolve(fail ? { ok: false, latencyMs: this.latencyMs, error: 'connection refused' } : { ok: true, latencyMs: this.latencyMs })
          })
          const onAbort = () => {
            cancel()
            resolve({ ok: false, latencyMs: this.latencyMs, error: 'timeout' })
          }
          signal.addEventListener('abort', onAbort, { once: true })
        })
      },
    }
  }

  /** Which nodes checked each target in [fromMs, toMs). */
  checkers(fromMs: number, toMs: number): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>()
    for (const [id, at] of this.at) {
      const by = this.by.get(id)!
      const set = new Set<string>()
      for (let i = lowerBound(at, fromMs); i < at.length && (at[i] as number) < toMs; i++) set.add(this.nodeNames[by[i] as number] as string)
      out.set(id, set)
    }
    return out
  }

  /**
   * The longest time each target went without a check in [fromMs, toMs), counting the
   * edges of the window as checks: a target never checked in it has a gap of the whole window.
   */
  gaps(ids: Iterable<string>, fromMs: number, toMs: number): Map<string, number> {
    const out = new Map<string, number>()
    for (const id of ids) {
      const at = this.at.get(id) ?? []
      let prev = fromMs
      let worst = 0
      for (let i = lowerBound(at, fromMs); i < at.length && (at[i] as number) < toMs; i++) {
        worst = Math.max(worst, (at[i] as number) - prev)
        prev = at[i] as number
      }
      out.set(id, Math.max(worst, toMs - prev))
    }
    return out
  }

  /** Forgets check logs before `ms` (long soaks). */
  trim(beforeMs: number): void {
    for (const [id, at] of this.at) {
      const k = lowerBound(at, beforeMs)
      if (k === 0) continue
      at.splice(0, k)
      this.by.get(id)!.splice(0, k)
    }
  }
}

function lowerBound(xs: number[], v: number): number {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((xs[mid] as number) < v) lo = mid + 1
    else hi = mid
  }
  return lo
}
