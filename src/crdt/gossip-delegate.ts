/**
 * The SWIM Delegate for replicated state (memberlist's Delegate contract):
 * - getBroadcasts: queued deltas piggybacked within the packet budget;
 * - notifyMsg: a piggybacked delta in (joined, held or rejected);
 * - localState/mergeRemoteState: the periodic push/pull. On the initial join it
 *   ships full state; after that only the causal-context digest, and each side
 *   pulls (handleUserRequest on the peer) exactly what the digest shows it
 *   lacks. Without a request channel it falls back to full state;
 * - attach: news (news.ts) asks membership for a gossip round at once.
 * It sees the replicated state only through GossipPort, the few things it uses.
 */
import type { Delegate } from '../membership/delegate.ts'
import type { Clock } from '../seams/clock.ts'
import type { CausalContext, ReplicaId } from './causal-context.ts'
import type { DeltaResult } from './causal-delivery.ts'
import { Tag, type Decoded } from './codec.ts'
import type { Delta } from './dot-store.ts'
import type { CrdtLimits } from './limits.ts'
import { UrgentPulls } from './news.ts'
import { nodeOfReplica } from './replica-id.ts'

/** What the delegate needs of the replicated state (ReplicatedState provides it). */
export interface GossipPort {
  /** This node's name: a gap is never asked of ourselves. */
  readonly nodeName: string
  readonly limits: Pick<CrdtLimits, 'heldPullIntervalMs' | 'urgentPullIntervalMs'>
  /** Encoded deltas to piggyback, each costing `overheadBytes` on top of its length, within `limitBytes`. */
  takeBroadcasts(overheadBytes: number, limitBytes: number): Uint8Array[]
  /** A piggybacked delta in: joined, held or rejected. */
  receive(from: string, payload: Uint8Array): { result: DeltaResult; delta?: Delta }
  /** True when `d` carries news (a status change, news.ts). */
  isNews(d: Delta): boolean
  /** The replicas whose dots `d` waits for. */
  waitingOn(d: Delta): ReplicaId[]
  /** Replicas whose dots we know we lack. */
  gaps(): Set<ReplicaId>
  /** True when gaps were dropped and the next digest exchange should pull. */
  readonly wantSync: boolean
  /** True when a peer with context `ctx` has seen dots we have not. */
  behind(ctx: CausalContext): boolean
  /** The whole state, for a join's push/pull (or without a request channel). */
  fullState(): Uint8Array
  /** Our causal-context digest, for a routine push/pull. */
  digest(): Uint8Array
  /** A push/pull payload or a sync reply in; the decoded message, or null if rejected. */
  applyMessage(from: string, payload: Uint8Array): Decoded | null
  /** A sync request for what we lack; with `origins`, about those replicas only. */
  syncRequest(origins?: ReplicaId[]): Uint8Array
  /** A peer's sync request in, its reply out; null when the payload is no sync request. */
  answerSync(from: string, payload: Uint8Array): Uint8Array | null
  /** Counts replicated-state payload bytes, by direction and kind, for metrics. */
  countBytes(direction: 'in' | 'out', kind: 'delta' | 'sync' | 'state', n: number): void
  /** Calls `listener` on news here (written locally or joined); returns the unsubscribe. */
  onNews(listener: () => void): () => void
}

/** Sends a request to a peer over the membership stream (answered there by handleUserRequest). */
export type SyncRequestFn = (to: string, payload: Uint8Array) => Promise<Uint8Array>

export function gossipDelegate(port: GossipPort, clock: Clock, request?: SyncRequestFn): Delegate {
  const inflight = new Set<string>()
  let lastGapPullAt = Number.NEGATIVE_INFINITY
  let gapTurn = 0
  const urgentPulls = new UrgentPulls(port.limits.urgentPullIntervalMs)

  /** Pulls what we lack from `from`; with `origins`, only those origins' deltas. */
  const pull = (from: string, origins?: string[]) => {
    if (!request || inflight.has(from) || inflight.size >= 8) return
    inflight.add(from)
    const ask = port.syncRequest(origins)
    port.countBytes('out', 'sync', ask.byteLength)
    request(from, ask)
      .then((reply) => {
        port.countBytes('in', 'sync', reply.byteLength)
        port.applyMessage(from, reply)
      })
      .catch(() => {})
      .finally(() => inflight.delete(from))
  }

  return {
    nodeMeta: () => new Uint8Array(0),
    getBroadcasts(overheadBytes, limitBytes) {
      const out = port.takeBroadcasts(overheadBytes, limitBytes)
      for (const b of out) port.countBytes('out', 'delta', b.byteLength)
      return out
    },
    notifyMsg(from, payload) {
      port.countBytes('in', 'delta', payload.byteLength)
      const got = port.receive(from, payload)
      const now = clock.monotonic()
      // News held behind a gap is what people wait for: the replicas it waits on (its
      // origin, and the former owner whose record a takeover overwrote) are asked at once
      // about themselves, at most once per urgentPullIntervalMs each, not at the next
      // gap-pull turn.
      if (got.result === 'held' && got.delta && port.isNews(got.delta)) {
        for (const r of port.waitingOn(got.delta).slice(0, 3)) {
          const node = nodeOfReplica(r)
          if (node === port.nodeName || !urgentPulls.allow(r, now)) continue
          pull(node, [r])
        }
      }
      // A lost delta shows as a hole in our context (later deltas of its origin joined) or
      // as a delta held for a dot it removes. Waiting for the periodic push/pull (30 s on
      // lan) leaves it missing that long; pulling on every delta floods a 16-node cluster
      // with syncs. So, at most once per heldPullIntervalMs while something is missing: ask
      // the sender or, every other time, a replica whose dots are missing, whose log always
      // reaches its own recent deltas (a relay's may not, and then only a full state would
      // do). They are taken in turn, so one that never answers (gone) does not starve the others.
      if (now - lastGapPullAt >= port.limits.heldPullIntervalMs) {
        const gaps = port.gaps()
        if (gaps.size > 0 || port.wantSync) {
          lastGapPullAt = now
          const origins = [...gaps].filter((r) => nodeOfReplica(r) !== from && nodeOfReplica(r) !== port.nodeName)
          // Every other time the sender, in between the origins in turn (about themselves).
          const turn = gapTurn++
          const origin = origins.length > 0 && turn % 2 === 1 ? (origins[(turn >> 1) % origins.length] as string) : undefined
          if (origin) pull(nodeOfReplica(origin), [origin])
          else pull(from)
        }
      }
    },
    localState(join) {
      const buf = join || !request ? port.fullState() : port.digest()
      port.countBytes('out', 'state', buf.byteLength)
      return buf
    },
    mergeRemoteState(from, payload) {
      port.countBytes('in', 'state', payload.byteLength)
      const m = port.applyMessage(from, payload)
      if (m?.tag === Tag.Digest && (port.wantSync || port.behind(m.ctx))) pull(from)
    },
    attach(hooks) {
      port.onNews(() => hooks.gossipSoon())
    },
    handleUserRequest(from, payload) {
      const reply = port.answerSync(from, payload)
      if (!reply) return new Uint8Array(0)
      port.countBytes('out', 'sync', reply.byteLength)
      return reply
    },
  }
}
