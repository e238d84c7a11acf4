/**
 * Garbage-collection pacing for the agent (edge only: src/cli calls it). At
 * 10,000 checks/s each check leaves short-lived garbage behind (fetch's
 * Request/Response/Headers, an AbortController and its signal, promises). Left to
 * its own heuristics JavaScriptCore lets that pile up to 100+ MiB of heap between
 * full collections and the process RSS climbs to 300-400 MiB. Young-generation
 * ("eden") collections on a short beat reclaim that garbage while it is young, with
 * pauses of a few ms because they only visit what survived since the last one; an
 * optional full collection on a slower beat (Bun.gc(true), which also asks mimalloc
 * to return freed pages) trims what was promoted anyway, at the cost of a pause
 * proportional to the live heap. Measured in docs/BENCHMARKS.md "Version 1".
 */
import { edenGC } from 'bun:jsc'

export interface GcPacerOptions {
  /**
   * How often (ms) to run an eden (young-generation) collection. Shorter keeps less
   * garbage around but spends more CPU; each costs ~1-5 ms at 10,000 checks/s.
   * Default 250. 0 disables it.
   */
  edenEveryMs?: number
  /**
   * How often (ms) to run a full, synchronous collection. It blocks the JS thread
   * for a time proportional to the live heap (≈ 50-100 ms for 50 MiB on a loaded
   * 2-core machine), which shows up as schedule lag, so keep it rare. Without it,
   * garbage promoted past the eden collections still piles up under CPU starvation
   * (RSS 150 → 230-260 MiB over 60 s at load 20); with it the 10 s windows stayed at
   * 140-175 MiB. Default 10000. 0 disables it.
   */
  fullEveryMs?: number
  /**
   * Extra full collections (ms after start): start-up (the first check of every
   * target, the first verdicts written to the replicated state) makes a burst of
   * garbage that would otherwise sit until the first regular full collection, and
   * sets the process's peak RSS. Default [1000, 2500, 4000, 6000, 8000].
   */
  fullAtMs?: number[]
}

/** Starts collecting on timers; returns a function that stops them. The timers never keep the process alive. */
export function startGcPacer(opts: GcPacerOptions = {}): () => void {
  const timers: ReturnType<typeof setInterval>[] = []
  const every = (ms: number, fn: () => void) => {
    if (!(ms > 0)) return
    const t = setInterval(fn, ms)
    ;(t as { unref?: () => void }).unref?.()
    timers.push(t)
  }
  every(opts.edenEveryMs ?? 250, () => edenGC())
  every(opts.fullEveryMs ?? 10_000, () => Bun.gc(true))
  const once = (opts.fullAtMs ?? [1000, 2500, 4000, 6000, 8000]).map((ms) => {
    const t = setTimeout(() => Bun.gc(true), ms)
    ;(t as { unref?: () => void }).unref?.()
    return t
  })
  return () => {
    for (const t of timers) clearInterval(t)
    for (const t of once) clearTimeout(t)
  }
}
