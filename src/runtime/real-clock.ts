/** The real Clock (src/seams/clock.ts): Date.now, performance.now and setTimeout. */
import type { Clock } from '../seams/clock.ts'

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
