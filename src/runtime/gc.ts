/**
 * Garbage-collection pacing for the agent (edge only: src/cli calls it). At
 * 10,000 checks/s each check leaves short-lived garbage behind (the fetch's
 * Request/Response/Headers, an AbortController and its signal, promises). Left to
 * its own heuristics JavaScriptCore lets that pile up to 100+ MiB of heap between
 * collections and the process RSS climbs to 300-400 MiB; collecting on a steady
 * beat keeps the heap near its live size, and Bun.gc also asks mimalloc to return
 * freed pages (Bun docs, `Bun.gc`). See docs/BENCHMARKS.md "Version 1" for the
 * measured effect of the interval and of synchronous vs asynchronous collection.
 */

export interface GcPacerOptions {
  /**
   * How often (ms) to ask for a collection. Shorter keeps RSS lower but spends
   * more CPU on marking the live heap; longer lets garbage pile up between
   * collections. Default 1000. 0 disables the pacer.
   */
  intervalMs?: number
  /**
   * Run the collection synchronously (a full, blocking GC on the JS thread: its
   * pause adds to schedule lag) instead of only requesting one, which JSC runs
   * concurrently. Default false.
   */
  sync?: boolean
}

/** Starts collecting on a timer; returns a function that stops it. The timer never keeps the process alive. */
export function startGcPacer(opts: GcPacerOptions = {}): () => void {
  const intervalMs = opts.intervalMs ?? 1000
  if (!(intervalMs > 0)) return () => {}
  const sync = opts.sync ?? false
  const t = setInterval(() => Bun.gc(sync), intervalMs)
  ;(t as { unref?: () => void }).unref?.()
  return () => clearInterval(t)
}
