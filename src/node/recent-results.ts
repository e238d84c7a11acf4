/**
 * The last few check results per target, kept locally for `GET /v1/targets/:id`
 * and the TUI's sparkline. A fixed ring per target, so memory is bounded by
 * targets × capacity whatever the check rate.
 */
import type { CheckResult } from '../config/types.ts'

export class RecentResults {
  private rings = new Map<string, { buf: CheckResult[]; next: number }>()

  /** Results kept per target; 30 covers half a minute at 1 s, enough for a sparkline. */
  constructor(readonly capacity = 30) {}

  add(id: string, r: CheckResult): void {
    let ring = this.rings.get(id)
    if (!ring) {
      ring = { buf: [], next: 0 }
      this.rings.set(id, ring)
    }
    if (ring.buf.length < this.capacity) ring.buf.push(r)
    else ring.buf[ring.next] = r
    ring.next = (ring.next + 1) % this.capacity
  }

  /** Oldest first. */
  get(id: string): CheckResult[] {
    const ring = this.rings.get(id)
    if (!ring) return []
    if (ring.buf.length < this.capacity) return [...ring.buf]
    return [...ring.buf.slice(ring.next), ...ring.buf.slice(0, ring.next)]
  }

  delete(id: string): void {
    this.rings.delete(id)
  }
}
