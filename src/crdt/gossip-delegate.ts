/**
 * The SWIM Delegate for replicated state (memberlist's Delegate contract):
 * - getBroadcasts: queued deltas piggybacked within the packet budget;
 * - notifyMsg: a piggybacked delta in (joined, held or rejected);
 * - localState/mergeRemoteState: the periodic push/pull. On the initial join it
 *   ships full state; after that only the causal-context digest, and each side
 *   pulls (handleUserRequest on the peer) exactly what the digest shows it
 *   lacks. Without a request channel it falls back to full state;
 * - attach: news (news.ts) asks membership for a gossip round at once.
 */
import type { Delegate } from '../membership/delegate.ts'
import { Tag, decodeMessage } from './codec.ts'
import type { ReplicatedState } from './replicated-state.ts'
import type { Clock } from '../seams/clock.ts'
import { UrgentPulls } from './news.ts'
import { nodeOfReplica } from './replica-id.ts'

export function gossipDelegate(rs: ReplicatedState, clock: Clock): Delegate {
  const inflight = new Set<string>()
  let lastGapPullAt = Number.NEGATIVE_INFINITY
  let gapTurn = 0
  const urgentPulls = new UrgentPulls(rs.limits.urgentPullIntervalMs)
  const count = (direction: 'in' | 'out', kind: string, n: number) => rs.bytes?.inc({ direction, kind }, n)

  /** Pulls what we lack from `from`; with `origins`, only those origins' deltas. */
  const pull = (from: string, origins?: string[]) => {
    const req = rs.request
    if (!req || inflight.has(from) || inflight.size >= 8) return
    inflight.add(from)
    const ask = rs.ae.syncRequest(origins)
    count('out', 'sync', ask.byteLength)
    req(from, ask)
      .then((reply) => {
        count('in', 'sync', reply.byteLength)
        rs.ae.applyMessage(from, reply)
      })
      .catch(() => {})
      .finally(() => inflight.delete(from))
  }

  return {
    nodeMeta: () => new Uint8Array(0),
    getBroadcasts(overheadBytes, limitBytes) {
      const out = rs.ae.takeBroadcasts(overheadBytes, limitBytes)
      for (const b of out) count('out', 'delta', b.byteLength)
      return out
    },
    notifyMsg(from, payload) {
      count('in', 'delta', payload.byteLength)
      const got = rs.ae.receive(from, payload)
      const now = clock.monotonic()
      // News held behind a gap is what people wait for: the replicas it waits on (its
      // origin, and the former owner whose record a takeover overwrote) are asked at once
      // about themselves, at most once per urgentPullIntervalMs each, not at the next
      // gap-pull turn.
      if (got.result === 'held' && got.delta && rs.changesStatus(got.delta)) {
        for (const r of rs.ae.waitingOn(got.delta).slice(0, 3)) {
          const node = nodeOfReplica(r)
          if (node === rs.nodeName || !urgentPulls.allow(r, now)) continue
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
      if (now - lastGapPullAt >= rs.limits.heldPullIntervalMs) {
        const gaps = rs.ae.gaps()
        if (gaps.size > 0 || rs.ae.wantSync) {
          lastGapPullAt = now
          const origins = [...gaps].filter((r) => nodeOfReplica(r) !== from && nodeOfReplica(r) !== rs.nodeName)
          // Every other time the sender, in between the origins in turn (about themselves).
          const turn = gapTurn++
          const origin = origins.length > 0 && turn % 2 === 1 ? (origins[(turn >> 1) % origins.length] as string) : undefined
          if (origin) pull(nodeOfReplica(origin), [origin])
          else pull(from)
        }
      }
    },
    localState(join) {
      const buf = join || !rs.request ? rs.ae.fullState(Tag.Full) : rs.ae.digest(Tag.Digest)
      count('out', 'state', buf.byteLength)
      return buf
    },
    mergeRemoteState(from, payload) {
      count('in', 'state', payload.byteLength)
      const m = rs.ae.applyMessage(from, payload)
      if (m?.tag === Tag.Digest && (rs.ae.wantSync || rs.ae.behind(m.ctx))) pull(from)
    },
    attach(hooks) {
      rs.urgent = () => hooks.gossipSoon()
    },
    handleUserRequest(from, payload) {
      const r = decodeMessage(payload, rs.limits)
      if (!r.ok || (r.msg.tag !== Tag.SyncRequest && r.msg.tag !== Tag.SyncRequestFor)) return new Uint8Array(0)
      rs.ae.recordPeer(from, r.msg.ctx)
      const reply = rs.ae.syncReply(r.msg.ctx, r.msg.tag === Tag.SyncRequestFor ? new Set(r.msg.origins) : undefined)
      count('out', 'sync', reply.byteLength)
      return reply
    },
  }
}
