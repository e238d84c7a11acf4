/**
 * The last few check results per target, kept locally for `GET /v1/targets/:id`
 * and the TUI's sparkline. A fixed ring per target, so memory is bounded by
 * targets × capacity whatever the check rate.
 *
 * Stored column-wise in typed arrays (one row of `capacity` cells per target), not
 * as CheckResult objects: 10,000 targets × 30 results as objects were ~300,000
 * long-lived heap cells that every garbage collection had to visit (measured: a
 * 37 MiB live heap and GC pauses of up to 32 ms at 10,000 checks/s). Here they are
 * a handful of flat buffers the collector does not scan. Error texts live in a
 * Map keyed by cell (failures are rare and their strings are shared), checker
 * names in a small intern table (they are node names). Objects are made only when
 * a reader asks for them.
 */
import type { CheckResult } from '../config/types.ts'

/** Row slots added at a time when the store grows. */
const GROW_MIN_ROWS = 64
/** Checker names kept interned before the table is reset (node names: far fewer in practice). */
const MAX_CHECKERS = 4096

export class RecentResults {
  private readonly rowOf = new Map<string, number>()
  private readonly freeRows: number[] = []
  private rows = 0
  /** Per row: next cell to write, and how many cells hold a result. */
  private head = new Uint16Array(0)
  private count = new Uint16Array(0)
  /** Per cell (row * capacity + i). */
  private ok = new Uint8Array(0)
  private statusCode = new Uint16Array(0)
  /** Float32 halves the biggest column; latencies are kept to 0.01 ms, well inside its precision. */
  private latencyMs = new Float32Array(0)
  private checkedAt = new Float64Array(0)
  private checkerIdx = new Uint32Array(0)
  private readonly errors = new Map<number, string>()
  /** Per cell, for push targets only (few): when the newest heartbeat arrived. */
  private readonly pushedAt = new Map<number, number>()
  private readonly checkerNames: string[] = []
  private readonly checkerIds = new Map<string, number>()

  /** Results kept per target; 30 covers half a minute at 1 s, enough for a sparkline. At most 65,535. */
  constructor(readonly capacity = 30) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0xffff) throw new RangeError(`RecentResults capacity must be 1..65535, got ${capacity}`)
  }

  /** Targets with at least one result. */
  get size(): number {
    return this.rowOf.size
  }

  add(id: string, r: CheckResult): void {
    let row = this.rowOf.get(id)
    if (row === undefined) {
      row = this.allocRow()
      this.rowOf.set(id, row)
    }
    const cap = this.capacity
    const h = this.head[row] as number
    const cell = row * cap + h
    this.ok[cell] = r.ok ? 1 : 0
    // 0 means "no status code" (TCP checks, connection errors): no real response has status 0.
    this.statusCode[cell] = r.status_code ?? 0
    this.latencyMs[cell] = r.latency_ms
    this.checkedAt[cell] = r.checked_at
    this.checkerIdx[cell] = this.internChecker(r.checker)
    if (r.error !== undefined) this.errors.set(cell, r.error)
    else if (this.errors.size !== 0) this.errors.delete(cell)
    if (r.pushed_at !== undefined) this.pushedAt.set(cell, r.pushed_at)
    else if (this.pushedAt.size !== 0) this.pushedAt.delete(cell)
    this.head[row] = h + 1 === cap ? 0 : h + 1
    const c = this.count[row] as number
    if (c < cap) this.count[row] = c + 1
  }

  /** Oldest first. */
  get(id: string): CheckResult[] {
    const row = this.rowOf.get(id)
    if (row === undefined) return []
    const cap = this.capacity
    const n = this.count[row] as number
    const start = n < cap ? 0 : (this.head[row] as number)
    const out: CheckResult[] = new Array(n)
    for (let i = 0; i < n; i++) {
      const j = start + i
      out[i] = this.result(row * cap + (j >= cap ? j - cap : j))
    }
    return out
  }

  /** The newest result, or undefined; cheaper than get(id) when only the last one is needed. */
  last(id: string): CheckResult | undefined {
    const row = this.rowOf.get(id)
    if (row === undefined || this.count[row] === 0) return undefined
    const cap = this.capacity
    const h = this.head[row] as number
    return this.result(row * cap + (h === 0 ? cap - 1 : h - 1))
  }

  delete(id: string): void {
    const row = this.rowOf.get(id)
    if (row === undefined) return
    this.rowOf.delete(id)
    const cap = this.capacity
    const n = this.count[row] as number
    for (let i = 0; i < n; i++) {
      this.errors.delete(row * cap + i)
      this.pushedAt.delete(row * cap + i)
    }
    this.head[row] = 0
    this.count[row] = 0
    this.freeRows.push(row)
  }

  private result(cell: number): CheckResult {
    const r: CheckResult = {
      ok: this.ok[cell] === 1,
      latency_ms: Math.round((this.latencyMs[cell] as number) * 100) / 100,
      checked_at: this.checkedAt[cell] as number,
      checker: this.checkerNames[this.checkerIdx[cell] as number] ?? '',
    }
    const sc = this.statusCode[cell] as number
    if (sc !== 0) r.status_code = sc
    const err = this.errors.get(cell)
    if (err !== undefined) r.error = err
    const pushed = this.pushedAt.get(cell)
    if (pushed !== undefined) r.pushed_at = pushed
    return r
  }

  private internChecker(name: string): number {
    let i = this.checkerIds.get(name)
    if (i !== undefined) return i
    if (this.checkerNames.length >= MAX_CHECKERS) this.resetCheckers()
    i = this.checkerNames.length
    this.checkerNames.push(name)
    this.checkerIds.set(name, i)
    return i
  }

  /** Bounds the intern table: re-interns only the names still referenced by stored cells. */
  private resetCheckers(): void {
    const old = this.checkerNames.slice()
    this.checkerNames.length = 0
    this.checkerIds.clear()
    const cap = this.capacity
    for (const row of this.rowOf.values()) {
      const n = this.count[row] as number
      for (let i = 0; i < n; i++) {
        const cell = row * cap + i
        const name = old[this.checkerIdx[cell] as number] ?? ''
        let j = this.checkerIds.get(name)
        if (j === undefined) {
          j = this.checkerNames.length
          this.checkerNames.push(name)
          this.checkerIds.set(name, j)
        }
        this.checkerIdx[cell] = j
      }
    }
  }

  private allocRow(): number {
    const free = this.freeRows.pop()
    if (free !== undefined) return free
    if (this.rowOf.size >= this.rows) this.grow(Math.max(GROW_MIN_ROWS, this.rows * 2))
    return this.rowOf.size
  }

  private grow(rows: number): void {
    const cells = rows * this.capacity
    const copy = <T extends { set(a: ArrayLike<number>): void }>(next: T, prev: ArrayLike<number>): T => {
      next.set(prev)
      return next
    }
    this.head = copy(new Uint16Array(rows), this.head)
    this.count = copy(new Uint16Array(rows), this.count)
    this.ok = copy(new Uint8Array(cells), this.ok)
    this.statusCode = copy(new Uint16Array(cells), this.statusCode)
    this.latencyMs = copy(new Float32Array(cells), this.latencyMs)
    this.checkedAt = copy(new Float64Array(cells), this.checkedAt)
    this.checkerIdx = copy(new Uint32Array(cells), this.checkerIdx)
    this.rows = rows
  }
}
