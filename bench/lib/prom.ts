/**
 * Just enough of the Prometheus text format for benchmarks: sample values by
 * name and labels, and quantiles of a histogram between two scrapes (the same
 * linear interpolation inside a bucket as PromQL's histogram_quantile).
 */

export type Samples = Map<string, number>

/** "name{a="1",b="2"} 3" → key `name{a="1",b="2"}` (labels as written) → 3. */
export function parseProm(text: string): Samples {
  const out: Samples = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const sp = line.lastIndexOf(' ')
    if (sp < 0) continue
    const v = Number(line.slice(sp + 1))
    if (!Number.isNaN(v)) out.set(line.slice(0, sp).trim(), v)
  }
  return out
}

/** Sum of all samples of `name` whose labels include every `match` pair. */
export function sumOf(s: Samples, name: string, match: Record<string, string> = {}): number {
  let total = 0
  for (const [k, v] of s) {
    if (k !== name && !k.startsWith(`${name}{`)) continue
    if (Object.entries(match).every(([l, val]) => k.includes(`${l}="${val}"`))) total += v
  }
  return total
}

export interface Buckets {
  /** Upper bounds ascending, the last is Infinity; cumulative counts. */
  le: number[]
  cum: number[]
  count: number
  sum: number
}

export function histogram(s: Samples, name: string): Buckets {
  const pairs: Array<[number, number]> = []
  for (const [k, v] of s) {
    if (!k.startsWith(`${name}_bucket{`)) continue
    const m = /le="([^"]+)"/.exec(k)
    if (!m) continue
    pairs.push([m[1] === '+Inf' ? Infinity : Number(m[1]), v])
  }
  pairs.sort((a, b) => a[0] - b[0])
  return { le: pairs.map((p) => p[0]), cum: pairs.map((p) => p[1]), count: s.get(`${name}_count`) ?? 0, sum: s.get(`${name}_sum`) ?? 0 }
}

/** What happened between two scrapes of the same histogram. */
export function delta(after: Buckets, before: Buckets | undefined): Buckets {
  if (!before) return after
  return { le: after.le, cum: after.cum.map((c, i) => c - (before.cum[i] ?? 0)), count: after.count - before.count, sum: after.sum - before.sum }
}

/** The q-quantile (0..1); linear inside the bucket; the largest finite bound if it falls in +Inf. */
export function quantile(h: Buckets, q: number): number | undefined {
  const total = h.cum.at(-1) ?? 0
  if (total <= 0) return undefined
  const rank = q * total
  for (let i = 0; i < h.le.length; i++) {
    const c = h.cum[i] ?? 0
    if (c >= rank) {
      const hi = h.le[i] ?? Infinity
      const lo = i === 0 ? 0 : (h.le[i - 1] ?? 0)
      if (hi === Infinity) return lo
      const prev = i === 0 ? 0 : (h.cum[i - 1] ?? 0)
      return c === prev ? hi : lo + ((hi - lo) * (rank - prev)) / (c - prev)
    }
  }
  return h.le.at(-2)
}

/** The upper bound of the bucket that holds the q-quantile: a safe "at most" figure. */
export function quantileBound(h: Buckets, q: number): number | undefined {
  const total = h.cum.at(-1) ?? 0
  if (total <= 0) return undefined
  const i = h.cum.findIndex((c) => c >= q * total)
  return i < 0 ? undefined : h.le[i]
}
