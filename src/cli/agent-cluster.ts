/**
 * The cluster half of `heck agent`: replicated state (delta CRDTs) riding on SWIM
 * membership, with the replica id and the last known state kept in the data dir
 * so a restart resumes instead of starting over.
 */
import { replicaIdFor } from '../crdt/replica-id.ts'
import { ReplicatedState } from '../crdt/replicated-state.ts'
import type { Registry } from '../metrics/registry.ts'
import { startMembership, type MembershipHandle } from '../runtime/membership.ts'
import { ReplicatedStore } from '../node/replicated-store.ts'
import { SwimCluster } from '../node/swim-cluster.ts'
import { realClock } from '../runtime/real-clock.ts'
import type { Logger } from '../seams/log.ts'
import type { HistoryStore } from '../history/history.ts'
import { VERSION } from '../version.ts'
import type { AgentConfig } from './agent-cmd.ts'
import { formatAddr } from './args.ts'

const REPLICA_KEY = 'crdt.replica-id'
const STATE_KEY = 'crdt.snapshot'
/** How often (ms) the replicated state is written to the data dir; a crash loses at most this much. */
const PERSIST_EVERY_MS = 15_000
/** How often (ms) dead replicas are re-minted and folded, besides on every membership change. */
const PRUNE_EVERY_MS = 5_000
/** Timeout (ms) of one anti-entropy pull from a peer. */
const SYNC_TIMEOUT_MS = 5_000

export interface ClusterParts {
  store: ReplicatedStore
  cluster: SwimCluster
  membership: MembershipHandle
  /**
   * Resolves once this node has met at least one peer, or when joining cannot
   * matter: no seeds given, or the join timeout passed. With --retry-join the
   * join runs in the background, and a node that started checking every target
   * before meeting its peers would check what they own (a storm at start-up).
   */
  joined: Promise<void>
  /** Graceful: tells peers we leave (they record `left`), saves state, closes sockets. */
  leave(timeoutMs: number): Promise<void>
}

export async function startCluster(cfg: AgentConfig, deps: { metrics: Registry; log: Logger; history?: HistoryStore }): Promise<ClusterParts> {
  const { metrics, log, history } = deps
  const kv = history?.kv
  const idStore = kv && {
    load: () => {
      const v = kv.get(REPLICA_KEY)
      return v === undefined ? undefined : new TextDecoder().decode(v)
    },
    save: (id: string) => kv.put(REPLICA_KEY, id),
  }
  const rs = new ReplicatedState({
    replicaId: replicaIdFor(cfg.name, realClock, idStore),
    nodeName: cfg.name,
    clock: realClock,
    metrics,
    onReincarnate: (id) => idStore?.save(id),
  })
  const snap = kv?.get(STATE_KEY)
  if (snap) {
    const ok = rs.restore(snap)
    log(ok ? 'info' : 'warn', ok ? 'restored the last known cluster state' : 'ignored an unreadable saved state', { bytes: snap.byteLength })
  }
  const invalid = metrics.counter('heck_invalid_targets_total', 'Target definitions from peers refused because their shape was invalid')
  const store = new ReplicatedStore(rs, (id) => {
    invalid.inc()
    log('warn', 'ignored an invalid target definition from a peer', { id })
  })

  const httpHost = cfg.http.host === '0.0.0.0' || cfg.http.host === '::' ? (cfg.advertise?.host ?? '127.0.0.1') : cfg.http.host
  const membership = await startMembership({
    name: cfg.name,
    bind: formatAddr(cfg.bind.host, cfg.bind.port),
    ...(cfg.advertise ? { advertise: formatAddr(cfg.advertise.host, cfg.advertise.port) } : {}),
    join: cfg.join,
    retryJoin: cfg.retryJoin,
    joinTimeoutMs: cfg.joinTimeoutMs,
    retryIntervalMs: cfg.retryIntervalMs,
    profile: cfg.profile,
    keys: cfg.keys,
    // `boot` tells this run from a previous one under the same name (HeckNode joinSettleMs:
    // a node restarted before anyone saw it gone is still an owner and must not wait).
    meta: { http: formatAddr(httpHost, cfg.http.port), version: VERSION, boot: Date.now().toString(36) },
    delegate: rs.delegate(),
    metrics,
    log: (level, msg, fields) => log(level, msg, fields as Record<string, unknown> | undefined),
  })
  rs.request = (to, payload) => membership.userRequest(to, payload, SYNC_TIMEOUT_MS)
  const cluster = new SwimCluster(membership)

  const prune = () => {
    const live = membership.members().filter((m) => m.state === 'alive' || m.state === 'suspect').map((m) => m.name)
    rs.pruneReplicas(live)
  }
  cluster.onChange(prune)
  const persist = () => {
    if (!kv) return
    try {
      kv.put(STATE_KEY, rs.snapshot())
    } catch (e) {
      log('warn', 'could not save the cluster state', { error: e instanceof Error ? e.message : String(e) })
    }
  }
  const timers = [setInterval(prune, PRUNE_EVERY_MS), ...(kv ? [setInterval(persist, PERSIST_EVERY_MS)] : [])]
  for (const t of timers) t.unref()

  const joined =
    cfg.retryJoin.length === 0 || membership.members().length > 1
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const t = setTimeout(resolve, cfg.joinTimeoutMs)
          t.unref()
          const off = cluster.onChange(() => {
            if (membership.members().length < 2) return
            clearTimeout(t)
            off()
            resolve()
          })
        })

  return {
    store,
    cluster,
    membership,
    joined,
    async leave(timeoutMs) {
      for (const t of timers) clearInterval(t)
      persist()
      await membership.leave(timeoutMs).catch((e) => log('warn', 'leave failed', { error: String(e) }))
      await membership.shutdown()
    },
  }
}
