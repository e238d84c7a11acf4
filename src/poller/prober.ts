/**
 * Prober seam (docs/ARCHITECTURE.md "Seams"): probes one target once, honouring an
 * AbortSignal for the timeout. The real HTTP/TCP prober is in src/runtime; a
 * simulated one in test/sim returns scripted results on the simulated clock.
 */
import type { Target } from '../config/types.ts'

export interface ProbeOutcome {
  ok: boolean
  latencyMs: number
  statusCode?: number
  error?: string
  /** Push targets: when the newest heartbeat arrived (epoch ms); written into the shared record when it is new. */
  pushedAt?: number
  /** Push targets: nothing to say yet (no heartbeat, grace not over); no result is recorded. */
  pending?: boolean
}

export interface Prober {
  probe(target: Target, signal: AbortSignal): Promise<ProbeOutcome>
}
