/**
 * The metrics replicated state exports: counters of what gossip brought and what
 * sync served, and gauges of the bounded buffers and metadata, read at scrape
 * time (so nothing has to keep them in sync). Names and help texts are the
 * dashboards' contract: they change only by adding.
 */
import type { Counter, Registry } from '../metrics/registry.ts'

export interface CrdtCounters {
  deltas: Counter
  bytes: Counter
  replies: Counter
  deferred: Counter
}

/** What the gauges read, at scrape time. */
export interface CrdtGauges {
  contextReplicas(): number
  heldDeltas(): number
  missingDots(): number
  queuedDeltas(): number
}

export function crdtMetrics(m: Registry, read: CrdtGauges): CrdtCounters {
  const counters = {
    deltas: m.counter('heck_gossip_deltas_total', 'Remote CRDT deltas by result: applied, held (causal gap), rejected (bad or unsafe), duplicate.'),
    bytes: m.counter('heck_crdt_bytes_total', 'Replicated-state payload bytes by direction (in, out) and kind (delta, sync, state); part of heck_gossip_bytes_total, which membership counts whole.'),
    replies: m.counter('heck_crdt_sync_replies_total', 'Sync replies served, by kind: deltas (what the log has; possibly none) or full (the whole state: megabytes at 10,000 targets).'),
    deferred: m.counter('heck_crdt_sync_deferred_total', 'Sync replies cut short, by reason: budget (maxSyncReplyBytesPerS spent, empty reply) or full (a full state had to wait for fullReplyMinIntervalMs). The asker retries.'),
  }
  // Every known label value starts at 0, so a fresh agent's rate() has a series to work on.
  for (const result of ['applied', 'held', 'rejected', 'duplicate']) counters.deltas.inc({ result }, 0)
  for (const direction of ['in', 'out']) for (const kind of ['delta', 'sync', 'state']) counters.bytes.inc({ direction, kind }, 0)
  for (const kind of ['deltas', 'full']) counters.replies.inc({ kind }, 0)
  for (const reason of ['budget', 'full']) counters.deferred.inc({ reason }, 0)
  m.gauge('heck_crdt_context_replicas', 'Replica entries in the causal context (metadata size).').collect(() => [[undefined, read.contextReplicas()]])
  m.gauge('heck_crdt_held_deltas', 'Deltas held for a causal gap.').collect(() => [[undefined, read.heldDeltas()]])
  m.gauge('heck_crdt_missing_dots', 'Dots known missing: holes below a replica\'s newest seen dot, being pulled.').collect(() => [[undefined, read.missingDots()]])
  m.gauge('heck_crdt_broadcast_queue', 'Deltas waiting to be piggybacked.').collect(() => [[undefined, read.queuedDeltas()]])
  return counters
}
