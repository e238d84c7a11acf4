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
 * Told how much work the process does (GcPacerOptions.work), it skips the beats
 * that follow little work: an agent of a cluster checks a small share of the targets.
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
  /**
   * A count that grows with the garbage the process makes (the agent passes its checks
   * run so far). With it, a beat's collection is skipped while less than edenMinWork /
   * fullMinWork units of work were done since the previous one of its kind. An agent of
   * a cluster runs a few hundred checks a second, so there is little garbage to collect,
   * yet it holds the whole replicated state and each full collection walks all of it
   * (16 agents × 10,000 targets: the same cost per agent as one agent checking all
   * 10,000). Without it every beat collects.
   */
  work?: () => number
  /** The collections to run; JavaScriptCore's own unless given (tests count them). */
  collect?: { eden(): void; full(): void }
  /** Work since the last eden collection for the next beat to run one. Default 400 (every beat at 1,600 checks/s and up). */
  edenMinWork?: number
  /** Work since the last full collection for the next full beat to run one. Default 50,000 (every 10 s beat at 5,000 checks/s and up). */
  fullMinWork?: number
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
  const work = opts.work
  // Skips a beat while less than `min` work was done since the collection this returns was last run.
  const paced = (min: number, collect: () => void) => {
    if (!work) return collect
    let last = work()
    return () => {
      const now = work()
      if (now - last < min) return
      last = now
      collect()
    }
  }
  const eden = opts.collect ? () => opts.collect?.eden() : () => edenGC()
  const full = opts.collect ? () => opts.collect?.full() : () => Bun.gc(true)
  every(opts.edenEveryMs ?? 250, paced(opts.edenMinWork ?? 400, eden))
  every(opts.fullEveryMs ?? 10_000, paced(opts.fullMinWork ?? 50_000, full))
  const once = (opts.fullAtMs ?? [1000, 2500, 4000, 6000, 8000]).map((ms) => {
    const t = setTimeout(full, ms)
    ;(t as { unref?: () => void }).unref?.()
    return t
  })
  return () => {
    for (const t of timers) clearInterval(t)
    for (const t of once) clearTimeout(t)
  }
}
