/**
 * One suspicion timer (Lifeguard's dynamic suspicion, memberlist suspicion.go): it
 * starts at the maximum timeout and shrinks toward the minimum as independent
 * members confirm the suspicion; the original accuser does not count twice.
 */
import type { Cancel, Clock } from '../seams/clock.ts'
import { suspicionTimeoutMs } from './math.ts'

export class Suspicion {
  private readonly confirmers = new Set<string>()
  private confirmations = 0
  private readonly startMs: number
  private cancelTimer: Cancel

  constructor(
    from: string,
    private readonly k: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly clock: Clock,
    private readonly onTimeout: () => void,
  ) {
    this.confirmers.add(from)
    this.startMs = clock.monotonic()
    this.cancelTimer = clock.after(suspicionTimeoutMs(0, k, minMs, maxMs), onTimeout)
  }

  /** Counts a confirmation from `from`; true when it was new (and so worth re-gossiping). */
  confirm(from: string): boolean {
    if (this.confirmations >= this.k || this.confirmers.has(from)) return false
    this.confirmers.add(from)
    this.confirmations++
    const timeout = suspicionTimeoutMs(this.confirmations, this.k, this.minMs, this.maxMs)
    const remaining = timeout - (this.clock.monotonic() - this.startMs)
    this.cancelTimer()
    this.cancelTimer = this.clock.after(Math.max(0, remaining), this.onTimeout)
    return true
  }

  cancel(): void {
    this.cancelTimer()
  }
}
