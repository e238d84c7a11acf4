/**
 * Check arrivals as the farm saw them, merged over time: the farm keeps only the
 * last 16 arrivals per target, so this polls each target's ring often enough
 * (every 2 s at a 1 s interval) and keeps the full history. From it the cluster
 * tests compute coverage gaps (time between consecutive checks of a target by
 * any node) and double-checking (two nodes checking the same target at once).
 */
import type { Farm } from '../../src/farm/farm.ts'

export interface Arrival {
  at: number
  node: string
}

export class ArrivalLog {
  private readonly log = new Map<string, Arrival[]>()
  private timer: ReturnType<typeof setInterval> | undefined

  private readonly endpoints = new Map<string, string>()

  /** `targets`: target id → the farm endpoint it checks (target `t7` → endpoint `7`). */
  constructor(private readonly farm: Farm, targets: Record<string, string> = {}) {
    this.track(targets)
  }

  track(targets: Record<string, string>): void {
    for (const [id, ep] of Object.entries(targets)) this.endpoints.set(id, ep)
  }

  /** Merges every tracked target's recent ring into the history. */
  collect(): void {
    for (const [id, ep] of this.endpoints) {
      const recent = this.farm.stats({ target: ep }).targets?.[ep]?.recent ?? []
      let have = this.log.get(id)
      if (!have) this.log.set(id, (have = []))
      const lastAt = have.length ? (have[have.length - 1] as Arrival).at : -Infinity
      const atLast = new Set(have.filter((a) => a.at === lastAt).map((a) => a.node))
      for (const r of recent) {
        if (r.at > lastAt || (r.at === lastAt && !atLast.has(r.node))) have.push(r)
      }
      have.sort((a, b) => a.at - b.at)
    }
  }

  start(everyMs = 2000): void {
    this.collect()
    this.timer = setInterval(() => this.collect(), everyMs)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.collect()
  }

  arrivals(id: string, from = -Infinity, to = Infinity): Arrival[] {
    return (this.log.get(id) ?? []).filter((a) => a.at >= from && a.at <= to)
  }

  /**
   * The longest time a target went unchecked inside [from, to]: gaps between
   * consecutive arrivals, plus the gap from the last arrival before `from` to the
   * first one after it (so a gap that straddles `from` counts whole).
   */
  maxGap(id: string, from: number, to: number): number {
    const all = this.log.get(id) ?? []
    let prev: number | undefined
    let max = 0
    for (const a of all) {
      if (a.at > to) break
      if (a.at >= from && prev !== undefined) max = Math.max(max, a.at - prev)
      prev = a.at
    }
    // Still unchecked at `to`: the open gap counts too.
    if (prev !== undefined && prev < to) max = Math.max(max, Math.min(to, Date.now()) - prev)
    return max
  }

  /**
   * How long two nodes both checked the target inside [from, to]: for each pair of
   * nodes, the overlap of [first, last] arrival spans, summed over pairs (0 when
   * one node handed over cleanly to the other).
   */
  overlap(id: string, from: number, to: number): number {
    const spans = new Map<string, [number, number]>()
    for (const a of this.arrivals(id, from, to)) {
      const s = spans.get(a.node)
      if (s) s[1] = a.at
      else spans.set(a.node, [a.at, a.at])
    }
    const list = [...spans.values()]
    let total = 0
    for (let i = 0; i < list.length; i++)
      for (let j = i + 1; j < list.length; j++) {
        const [a0, a1] = list[i] as [number, number]
        const [b0, b1] = list[j] as [number, number]
        total += Math.max(0, Math.min(a1, b1) - Math.max(a0, b0))
      }
    return total
  }
}

export function quantiles(xs: number[]): { n: number; p50: number; p90: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b)
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1] ?? NaN }
}

export const fmtQ = (q: ReturnType<typeof quantiles>, unit = 'ms') =>
  `n=${q.n} p50=${Math.round(q.p50)}${unit} p90=${Math.round(q.p90)}${unit} p99=${Math.round(q.p99)}${unit} max=${Math.round(q.max)}${unit}`
