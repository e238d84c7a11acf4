/**
 * A small Prometheus metrics registry (text exposition format 0.0.4). Cores
 * increment counters and observe histograms; the API renders them at /metrics.
 * Hand-written because it is ~100 lines and every client library drags in
 * Node-specific machinery we do not need in a compiled binary.
 */

type Labels = Record<string, string>

// Regex literals make a new RegExp object each time they are evaluated: hoisted, and skipped for plain values
// (a /metrics scrape escapes one label per target).
const NEEDS_ESCAPE = /[\\\n"]/
const BACKSLASH = /\\/g
const NEWLINE = /\n/g
const QUOTE = /"/g
const escapeLabel = (v: string) => (NEEDS_ESCAPE.test(v) ? v.replace(BACKSLASH, '\\\\').replace(NEWLINE, '\\n').replace(QUOTE, '\\"') : v)

function labelKey(labels: Labels | undefined): string {
  if (!labels) return ''
  const keys = Object.keys(labels).sort()
  if (keys.length === 0) return ''
  return `{${keys.map((k) => `${k}="${escapeLabel(String(labels[k]))}"`).join(',')}}`
}

interface Metric {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  render(out: string[]): void
}

interface KeyNode {
  /** label name → label value → the node for label sets that go on from here. */
  next: Map<string, Map<string, KeyNode>>
  /** The rendered key of the label set ending here. */
  key?: string
}

/**
 * Remembers the rendered key of each label set seen, so a hot inc() walks two or
 * four Map lookups instead of sorting, escaping and joining a string every call
 * (that was ~10% of the scheduler's CPU at 10,000 checks/s). Only for label sets of
 * one or two labels, which is every hot counter here; more labels are built each time.
 * Holds one entry per distinct label set, like the counter's own values.
 */
class LabelKeyCache {
  private readonly root: KeyNode = { next: new Map() }

  key(labels: Labels | undefined): string {
    if (!labels) return ''
    let a: string | undefined
    let b: string | undefined
    let n = 0
    for (const k in labels) {
      n++
      if (n === 1) a = k
      else if (n === 2) b = k
      else break
    }
    if (n === 0) return ''
    if (n > 2) return labelKey(labels)
    if (b !== undefined && b < (a as string)) [a, b] = [b, a]
    let node = this.step(this.root, a as string, labels[a as string] as string)
    if (b !== undefined) node = this.step(node, b, labels[b] as string)
    return (node.key ??= labelKey(labels))
  }

  private step(node: KeyNode, name: string, value: string): KeyNode {
    let byValue = node.next.get(name)
    if (!byValue) {
      byValue = new Map()
      node.next.set(name, byValue)
    }
    let child = byValue.get(value)
    if (!child) {
      child = { next: new Map() }
      byValue.set(value, child)
    }
    return child
  }
}

/** A counter bound to one label set: inc() without building or looking up its key again. */
export interface BoundCounter {
  inc(by?: number): void
  get(): number
}

export class Counter implements Metric {
  readonly type = 'counter'
  private values = new Map<string, number>()
  private readonly keys = new LabelKeyCache()
  constructor(readonly name: string, readonly help: string) {}
  inc(labels?: Labels, by = 1): void {
    const k = this.keys.key(labels)
    this.values.set(k, (this.values.get(k) ?? 0) + by)
  }
  get(labels?: Labels): number {
    return this.values.get(this.keys.key(labels)) ?? 0
  }
  /** A handle for one label set, for hot paths (e.g. `checks.labels({ result: 'ok' }).inc()`). */
  labels(labels?: Labels): BoundCounter {
    const k = labelKey(labels)
    const values = this.values
    return {
      inc: (by = 1) => values.set(k, (values.get(k) ?? 0) + by),
      get: () => values.get(k) ?? 0,
    }
  }
  render(out: string[]): void {
    for (const [k, v] of this.values) out.push(`${this.name}${k} ${v}`)
  }
}

/** A gauge whose values are read at scrape time, so nothing has to keep it in sync. */
export class Gauge implements Metric {
  readonly type = 'gauge'
  private values = new Map<string, number>()
  private collector?: () => Array<[Labels | undefined, number]>
  constructor(readonly name: string, readonly help: string) {}
  set(labels: Labels | undefined, v: number): void {
    this.values.set(labelKey(labels), v)
  }
  delete(labels: Labels | undefined): void {
    this.values.delete(labelKey(labels))
  }
  /** Replaces stored values with a callback evaluated at each render. */
  collect(fn: () => Array<[Labels | undefined, number]>): void {
    this.collector = fn
  }
  render(out: string[]): void {
    if (this.collector) {
      for (const [l, v] of this.collector()) out.push(`${this.name}${labelKey(l)} ${v}`)
      return
    }
    for (const [k, v] of this.values) out.push(`${this.name}${k} ${v}`)
  }
}

/** Cumulative-bucket histogram; buckets are upper bounds in the metric's unit (seconds here). */
export class Histogram implements Metric {
  readonly type = 'histogram'
  private counts: number[]
  private sum = 0
  private count = 0
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {
    this.counts = new Array(buckets.length).fill(0)
  }
  observe(v: number): void {
    this.sum += v
    this.count++
    // Buckets are few (≈12), so a linear scan beats a binary search.
    for (let i = 0; i < this.buckets.length; i++) {
      if (v <= (this.buckets[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1
        break
      }
    }
  }
  get total(): number {
    return this.count
  }
  /** Approximate quantile from the buckets (upper bound of the bucket holding it). */
  quantile(q: number): number {
    const rank = q * this.count
    let acc = 0
    for (let i = 0; i < this.buckets.length; i++) {
      acc += this.counts[i] as number
      if (acc >= rank) return this.buckets[i] as number
    }
    return Number.POSITIVE_INFINITY
  }
  render(out: string[]): void {
    let acc = 0
    for (let i = 0; i < this.buckets.length; i++) {
      acc += this.counts[i] as number
      out.push(`${this.name}_bucket{le="${this.buckets[i]}"} ${acc}`)
    }
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`)
    out.push(`${this.name}_sum ${this.sum}`)
    out.push(`${this.name}_count ${this.count}`)
  }
}

export const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export class Registry {
  private metrics = new Map<string, Metric>()

  private add<M extends Metric>(m: M): M {
    const existing = this.metrics.get(m.name)
    if (existing) return existing as M
    this.metrics.set(m.name, m)
    return m
  }
  /** A counter read at scrape time from something that keeps its own total (process CPU seconds). */
  counterFunc(name: string, help: string, fn: () => number): void {
    if (this.metrics.has(name)) return
    this.metrics.set(name, { name, help, type: 'counter', render: (out) => out.push(`${name} ${fn()}`) })
  }

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help))
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help))
  }
  histogram(name: string, help: string, buckets = LATENCY_BUCKETS_S): Histogram {
    return this.add(new Histogram(name, help, buckets))
  }
  render(): string {
    const out: string[] = []
    for (const m of this.metrics.values()) {
      out.push(`# HELP ${m.name} ${m.help}`)
      out.push(`# TYPE ${m.name} ${m.type}`)
      m.render(out)
    }
    return `${out.join('\n')}\n`
  }
}
