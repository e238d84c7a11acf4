/**
 * Check counters for `heck farm`: how many checks each endpoint received, from
 * which checking node (parsed from the SPEC's `User-Agent: heck/VERSION (node NAME)`),
 * and when. Tests use them to see which node checked a target and at what interval;
 * benchmarks use the totals as the ground truth for checks per second.
 * Recording a check is a few map operations: it is on the farm's hot path.
 */

/** Node key for requests whose User-Agent is not heck's: `other:<product>`. */
const UA_RE = /^heck\/\S+ \(node ([^)]*)\)/
/** Bound on the User-Agent → node cache, so odd clients cannot grow it without limit. */
const UA_CACHE_MAX = 10_000
/** Arrivals kept per target for interval checks. */
export const RECENT_PER_TARGET = 16

export function nodeFromUserAgent(ua: string | null): string {
  if (!ua) return 'other:-'
  const m = UA_RE.exec(ua)
  if (m) return m[1] ?? ''
  const product = ua.split(/[\s/]/, 1)[0] || '-'
  return `other:${product.slice(0, 64)}`
}

export interface NodeCount {
  count: number
  /** Wall-clock ms of the first and the last check from this node. */
  first: number
  last: number
}

export class TargetCounter {
  count = 0
  last = 0
  lastNode = ''
  readonly nodes = new Map<string, NodeCount>()
  /** Ring of the last RECENT_PER_TARGET arrivals (ms and node). */
  private readonly recentAt: number[] = []
  private readonly recentNode: string[] = []
  private head = 0

  record(node: string, nowMs: number): void {
    this.count++
    this.last = nowMs
    this.lastNode = node
    const n = this.nodes.get(node)
    if (n) {
      n.count++
      n.last = nowMs
    } else this.nodes.set(node, { count: 1, first: nowMs, last: nowMs })
    if (this.recentAt.length < RECENT_PER_TARGET) {
      this.recentAt.push(nowMs)
      this.recentNode.push(node)
    } else {
      this.recentAt[this.head] = nowMs
      this.recentNode[this.head] = node
      this.head = (this.head + 1) % RECENT_PER_TARGET
    }
  }

  /** Recent arrivals, oldest first. */
  recent(): Array<{ at: number; node: string }> {
    const out: Array<{ at: number; node: string }> = []
    const n = this.recentAt.length
    for (let i = 0; i < n; i++) {
      const j = (this.head + i) % n
      out.push({ at: this.recentAt[j] ?? 0, node: this.recentNode[j] ?? '' })
    }
    return out
  }

  toJSON() {
    return { count: this.count, last: this.last, lastNode: this.lastNode, nodes: Object.fromEntries(this.nodes) }
  }
}

export class FarmCounters {
  total = 0
  startedAt: number
  readonly byNode = new Map<string, number>()
  private readonly uaCache = new Map<string, string>()

  constructor(nowMs: number) {
    this.startedAt = nowMs
  }

  nodeOf(ua: string | null): string {
    if (ua === null) return nodeFromUserAgent(ua)
    let node = this.uaCache.get(ua)
    if (node === undefined) {
      node = nodeFromUserAgent(ua)
      if (this.uaCache.size >= UA_CACHE_MAX) this.uaCache.clear()
      this.uaCache.set(ua, node)
    }
    return node
  }

  record(t: TargetCounter, ua: string | null, nowMs: number): void {
    const node = this.nodeOf(ua)
    this.total++
    this.byNode.set(node, (this.byNode.get(node) ?? 0) + 1)
    t.record(node, nowMs)
  }

  clear(nowMs: number): void {
    this.total = 0
    this.startedAt = nowMs
    this.byNode.clear()
  }
}
