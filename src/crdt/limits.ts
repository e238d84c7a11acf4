/**
 * Knobs for replicated state. Every buffer is bounded by one of these; each
 * says what it bounds, its unit, its default and the tradeoff.
 */
import type { CodecLimits } from './codec.ts'

export interface CrdtLimits extends CodecLimits {
  /** Gossip retransmit multiplier: each delta is piggybacked mult × ceil(log10(n+1)) times (retransmitLimit in membership/math.ts; memberlist uses 4). More = faster, surer spread, more bytes. */
  retransmitMult: number
  /**
   * Most deltas waiting to be piggybacked; the ones with fewest transmits left are dropped
   * first (a pull repairs them). Default 8192 (at most ~8 MiB of packet-sized deltas): a
   * takeover of thousands of targets queues thousands of deltas at every node, and each one
   * dropped everywhere is a causal gap at every peer (1024 overflowed at 16 × 10,000).
   */
  maxBroadcastQueue: number
  /**
   * Recent deltas kept per origin to answer digest syncs; a peer further behind than this
   * gets full state. More = smaller syncs, more memory. Default 4096: a seed that writes
   * 10,000 registry entries and as many first verdicts mints ~2,500 deltas in its first
   * seconds, and peers that lost some of them are served from its log, not with full
   * states (megabytes each, rationed; 1024 sent them all the time at 16 × 10,000).
   */
  maxLogPerOrigin: number
  /** Total bytes of that delta log across origins; oldest evicted first. */
  maxLogBytes: number
  /**
   * Deltas held because an earlier delta of the same origin is missing; beyond this the
   * oldest is dropped and a sync is requested. Default 4096 (packet-sized deltas, a few
   * MiB at most): during a cluster-wide takeover deltas arrive out of order from many
   * relays at once, and 256 overflowed, turning ordinary reordering into gaps to pull.
   */
  maxHeldDeltas: number
  /**
   * A delta whose first counter is further than this beyond what we have contiguously of
   * its origin is "from the future": rejected, not joined or held. Default 16384: an
   * origin that takes over thousands of targets mints that many counters within seconds.
   * It also bounds how ragged a context gets (deltas join out of counter order), so keep
   * maxExceptionRanges at least half of it.
   */
  maxHoldGap: number
  /**
   * While some delta is known missing (a hole in the context, or a delta held for a dot
   * it removes), pull the missing part from a peer at most this often (ms). Shorter repairs a lost delta sooner; each pull is one digest out and
   * the missing deltas (or full state) back. Default 1000.
   */
  heldPullIntervalMs: number
  /**
   * At most one full-state sync reply per this long (ms); requests in between get an
   * empty reply and ask again later. Default 2000. Without it a cluster whose peers all
   * hold gaps asks every node for megabytes every second (measured: 3.4 MB/s per agent
   * at 16 × 10,000 targets, and the cluster never settled). Shorter repairs a far-behind
   * peer sooner; longer bounds the cost of serving them.
   */
  fullReplyMinIntervalMs: number
  /**
   * A status change that arrives held behind a causal gap makes us pull from its origin
   * at once, at most this often per origin (ms). Default 200. Shorter gets news past a
   * gap sooner; each pull costs a digest out and the gap's deltas back.
   */
  urgentPullIntervalMs: number
  /**
   * Full state is sent instead of deltas when a peer lacks more than this many entries and
   * more than half of ours (or has never synced): below half, the deltas are the smaller answer.
   */
  fullSyncThresholdEntries: number
  /**
   * Local deltas minted within this long (ms) are grouped into one (up to maxKeysPerDelta
   * keys) before they are queued and logged; any packet, digest or sync flushes sooner.
   * 0 ships each write alone. Default 20: a burst of writes becomes a few packet-sized
   * deltas; longer only delays news that no packet was leaving to carry anyway.
   */
  localBatchMs: number
  /**
   * A sync reply of logged deltas stops after this many bytes (the asker applies that
   * prefix and pulls again). Default 262144. Larger catches a peer up in fewer round
   * trips; smaller bounds the burst one request can cost.
   */
  maxSyncReplyBytes: number
  /**
   * Sync replies (deltas and full states) a node serves, in bytes per second on average
   * (a token bucket one second deep; a reply may overdraw it once). Past it, askers get
   * an empty reply and ask again. Default 262144. At 16 × 10,000 targets, unbounded
   * replies reached 1.7 MB/s per agent and starved the checks; this caps the repair
   * traffic at the price of slower catch-up after a storm.
   */
  maxSyncReplyBytesPerS: number
  /**
   * A group of local deltas is shipped before its encoding would pass this many bytes,
   * so it fits one gossip packet (1400 bytes less framing and encryption). A delta that
   * fits no packet is never piggybacked: every peer would see a causal gap and pull.
   * Default 1000.
   */
  maxDeltaBytes: number
  /** Keys per locally minted delta: batches (a targets file) are split so each delta fits a gossip packet. */
  maxKeysPerDelta: number
  /** A remote HLC stamp more than this ahead of our wall clock is refused (ms). */
  maxClockDriftMs: number
  /** A dead replica is folded only after being dead this long (ms), so its last deltas and the heir's re-mint have spread (Akka: 300 s). */
  foldAfterMs: number
  /** Per-peer digests kept for pruning decisions (LRU). */
  maxPeers: number
  /** Peer digests older than this (ms) are ignored when deciding a fold. */
  peerDigestMaxAgeMs: number
  /** Fold markers of dead replicas are forgotten after this long (ms); by then no delta of theirs can still be in flight. */
  foldedTtlMs: number
}

export const defaultCrdtLimits: CrdtLimits = {
  // Full states travel on the TCP push/pull: 10,000 targets is ~1.5 MB.
  maxMessageBytes: 16 * 1024 * 1024,
  maxReplicas: 4096,
  maxExceptionRanges: 16_384,
  // Counters stay safe integers with room to spare.
  maxCounter: 2 ** 48,
  maxKeysPerMessage: 200_000,
  maxEntriesPerKey: 64,
  maxKeyLength: 512,
  retransmitMult: 4,
  maxBroadcastQueue: 8192,
  maxLogPerOrigin: 4096,
  maxLogBytes: 16 * 1024 * 1024,
  maxHeldDeltas: 4096,
  maxHoldGap: 16_384,
  heldPullIntervalMs: 1000,
  urgentPullIntervalMs: 200,
  fullSyncThresholdEntries: 2048,
  fullReplyMinIntervalMs: 2000,
  maxKeysPerDelta: 8,
  localBatchMs: 20,
  maxDeltaBytes: 1000,
  maxSyncReplyBytes: 256 * 1024,
  maxSyncReplyBytesPerS: 256 * 1024,
  maxClockDriftMs: 60_000,
  foldAfterMs: 300_000,
  maxPeers: 1024,
  peerDigestMaxAgeMs: 120_000,
  foldedTtlMs: 3_600_000,
}
