/**
 * Clock seam (docs/ARCHITECTURE.md "Seams"). Protocol cores take a Clock instead of calling
 * Date.now / setTimeout, so a simulation can drive a thousand nodes from one
 * seeded event queue. The real implementation is src/runtime/real-clock.ts.
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
