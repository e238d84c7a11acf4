/**
 * Clock seam (DESIGN.md "Seams"). Protocol cores take a Clock instead of calling
 * Date.now / setTimeout, so a simulation can drive a thousand nodes from one
 * seeded event queue. The real implementation lives here, at the I/O edge.
 */

/** Cancels a pending timer; calling it twice, or after it fired, is harmless. */
export type Cancel = () => void

export interface Clock {
  /**
   * Wall time in ms since the epoch. For timestamps shown to people, and for aligning
   * probe rounds across nodes (probe-schedule.ts, which tolerates jumps); it can jump.
   */
  now(): number
  /** Monotonic ms from an arbitrary origin. For durations, deadlines and timeouts. */
  monotonic(): number
  /** Runs `fn` once, `ms` from now (monotonic). */
  after(ms: number, fn: () => void): Cancel
}

/** The real clock: Date.now for wall time, performance.now for durations, setTimeout for timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms))
    // Timers never keep the process alive on their own: the sockets and servers do.
    ;(t as { unref?: () => void }).unref?.()
    return () => clearTimeout(t)
  },
}
