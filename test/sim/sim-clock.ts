/**
 * Simulated Clock: time stands still until the test advances it, then timers fire
 * in (due time, insertion order) order. `runUntil` jumps straight to the next
 * event, so an hour of simulated time costs only the work done in it.
 */
import type { Cancel, Clock } from '../../src/seams/clock.ts'

interface Timer {
  at: number
  seq: number
  fn: () => void
  cancelled: boolean
}

export class SimClock implements Clock {
  private t = 0
  private seq = 0
  // A binary min-heap keyed by (at, seq): the next event is always at the root.
  private heap: Timer[] = []

  constructor(private readonly epochMs = 1_700_000_000_000) {}

  now(): number {
    return this.epochMs + this.t
  }

  monotonic(): number {
    return this.t
  }

  after(ms: number, fn: () => void): Cancel {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false }
    this.push(timer)
    return () => {
      timer.cancelled = true
    }
  }

  /** Number of timers still pending (cancelled ones included until they surface). */
  get pending(): number {
    return this.heap.length
  }

  /** Fires every timer due at or before `until` (monotonic ms), then sets time to `until`. */
  runUntil(until: number): void {
    for (;;) {
      const top = this.heap[0]
      if (!top || top.at > until) break
      this.pop()
      if (top.cancelled) continue
      this.t = top.at
      top.fn()
    }
    this.t = Math.max(this.t, until)
  }

  /** Advances by `ms`, firing everything due on the way. */
  advance(ms: number): void {
    this.runUntil(this.t + ms)
  }

  /** Fires the next pending timer, if any; returns false when there is none. */
  step(): boolean {
    for (;;) {
      const top = this.pop()
      if (!top) return false
      if (top.cancelled) continue
      this.t = Math.max(this.t, top.at)
      top.fn()
      return true
    }
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  private push(x: Timer): void {
    const h = this.heap
    h.push(x)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(h[i] as Timer, h[p] as Timer)) break
      ;[h[i], h[p]] = [h[p] as Timer, h[i] as Timer]
      i = p
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (h.length > 0 && last) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && this.less(h[l] as Timer, h[m] as Timer)) m = l
        if (r < h.length && this.less(h[r] as Timer, h[m] as Timer)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m] as Timer, h[i] as Timer]
        i = m
      }
    }
    return top
  }
}
