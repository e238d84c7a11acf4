/**
 * One agent, assembled once from its parts with every piece of I/O handed in: the
 * CLI passes the real clock, a bound UDP transport, the HTTP prober and SQLite; the
 * simulator passes a SimClock, a SimTransport and a simulated prober, and runs many
 * agents in one seeded process (as FoundationDB's simulator, TigerBeetle's VOPR and
 * madsim run whole nodes). Nothing here opens a socket, reads a file or starts a
 * timer of its own.
 */
import type { ApiDeps } from '../api/deps.ts'
import { WebhookDispatcher, type Poster } from '../alerts/webhooks.ts'
import type { SecretRef, Target, TargetsFile } from '../config/types.ts'
import type { ForwardPush } from '../node/push-router.ts'
import { timingSafeEqual } from 'node:crypto'
import { GossipClusterStore } from '../gossip/gossip-store.ts'
import { EtcdClusterStore } from '../etcd/etcd-store.ts'
import type { HistoryStore } from '../history/history.ts'
import type { DurableState } from '../history/state-file.ts'
import type { Registry } from '../metrics/registry.ts'
import type { ClusterStore } from '../node/cluster-store.ts'
import { HeckNode, type ProbePeer } from '../node/node.ts'
import type { AskPeer } from '../node/story.ts'
import type { Prober } from '../poller/prober.ts'
import type { Clock } from '../seams/clock.ts'
import type { Logger } from '../seams/log.ts'
import type { Rng } from '../seams/rng.ts'
import type { Transport } from '../seams/transport.ts'
import { VERSION } from '../version.ts'
import { JOIN_SETTLE_MS, type AgentConfig } from './config.ts'
import { LiteralSecretWarnings } from './secret-warnings.ts'

export interface AgentIO {
  clock: Clock
  rng: Rng
  /** The gossip transport, bound; the agent closes it when it stops. Not used (and may be absent) with the etcd store. */
  transport?: Transport
  prober: Prober
  log: Logger
  metrics: Registry
  /** Delivers webhook alerts. */
  post: Poster
  /** Asks a member for its part of a target's story; without it, answers are this node's own. */
  askPeer?: AskPeer
  /** Hands a push heartbeat to another member; without it, pushes stay on the node that got them. */
  forwardPush?: ForwardPush
  /** Asks a member to probe a target once (confirm: N); without it, the owner alone decides. */
  probePeer?: ProbePeer
  /** Reads `{env}` / `{file}` references on this node (a push target's token). */
  secrets?: { resolve(ref: SecretRef): { ok: true; value: string } | { ok: false; error: string } | Promise<{ ok: true; value: string } | { ok: false; error: string }> }
  /** Transition and per-minute history (SQLite), with a data dir. */
  history?: HistoryStore
  /** What must survive a crash (replica id, snapshot, journal of acknowledged writes), with a data dir. */
  durable?: DurableState
}

export interface Agent {
  readonly name: string
  readonly node: HeckNode
  readonly store: ClusterStore
  readonly alerts: WebhookDispatcher
  /** Conditions an operator should fix, logged once at start and listed by GET /healthz. */
  readonly warnings: string[]
  /** What the HTTP API needs (createApp(deps)); `leave` is how `POST /v1/leave` stops the process. */
  api(leave: () => void): ApiDeps
  /** Joins the cluster; rejects when none of the `--join` seeds answered. */
  start(): Promise<void>
  /** See ClusterStore.joined. */
  readonly joined: Promise<void>
  /** Applies this node's targets file: its targets (its own contribution) and webhooks. */
  applyFile(file: TargetsFile): void
  /** Graceful: peers record `left` and take over at once; state is saved; then everything stops. */
  leave(timeoutMs: number): Promise<void>
  /** Stops at once without a word to peers (a crash, or a start that failed). */
  stop(): Promise<void>
  /** New gossip keys, the first the primary (a keyring file reloaded on SIGHUP); throws when the store has none to replace. */
  rekey(keys: string[]): void
}

function gossipTransport(io: AgentIO): Transport {
  if (!io.transport) throw new Error('the gossip store needs a transport')
  return io.transport
}

export function assembleAgent(config: AgentConfig, io: AgentIO): Agent {
  const { clock, log, metrics } = io
  const joining = config.join.length > 0 || config.retryJoin.length > 0
  // `boot` tells this run from a previous one under the same name (AssignmentOptions.joining:
  // a node restarted before anyone saw it gone is still an owner and must not wait).
  const meta = { http: config.httpAddr, version: VERSION, boot: clock.now().toString(36) }
  const store: ClusterStore = config.store?.kind === 'etcd'
    ? new EtcdClusterStore({ name: config.name, endpoints: config.store.endpoints, prefix: config.store.prefix, leaseTtlMs: config.store.leaseTtlMs, meta, clock, log })
    : new GossipClusterStore(
    {
      name: config.name,
      profile: config.profile,
      swimOverrides: config.swimOverrides,
      keys: config.keys,
      clusterName: config.clusterName,
      join: config.join,
      retryJoin: config.retryJoin,
      joinTimeoutMs: config.joinTimeoutMs,
      retryIntervalMs: config.retryIntervalMs,
      meta,
      persistEveryMs: config.persistEveryMs,
      pruneEveryMs: config.pruneEveryMs,
      syncTimeoutMs: config.syncTimeoutMs,
    },
    { clock, rng: io.rng, transport: gossipTransport(io), log, metrics, durable: io.durable },
  )
  const alerts = new WebhookDispatcher({ clock, post: io.post, log, metrics })
  const literalSecrets = new LiteralSecretWarnings(log)
  const node = new HeckNode({
    name: config.name,
    clock,
    rng: io.rng.fork('node'),
    prober: io.prober,
    metrics,
    log,
    state: store.state,
    cluster: store.cluster,
    alerts,
    history: io.history,
    maxConcurrentChecks: config.maxConcurrentChecks,
    joinSettleMs: config.joinSettleMs ?? JOIN_SETTLE_MS,
    joining,
    lastResultRefreshMs: config.lastResultRefreshMs,
    checkCoalesceMaxMs: config.checkCoalesceMaxMs,
    askPeer: io.askPeer,
    forwardPush: io.forwardPush,
    probePeer: io.probePeer,
  })
  const silenceIds = io.rng.fork('silence-ids')
  const pushTokenMatches = async (t: Target, given: string): Promise<boolean> => {
    if (t.check.kind !== 'push' || t.check.token === undefined) return false
    let want = t.check.token
    if (typeof want !== 'string') {
      const r = await io.secrets?.resolve(want)
      if (!r?.ok) return false
      want = r.value
    }
    const a = Buffer.from(given)
    const b = Buffer.from(want)
    return a.length === b.length && timingSafeEqual(a, b)
  }
  const warnings =
    config.keys.length === 0 && store.kind === 'gossip'
      ? [
          `gossip is not encrypted or authenticated: anyone who can reach ${store.addr} can join the cluster and read its ` +
            `state; set --encrypt KEY (make one with heck keygen)`,
        ]
      : []
  let stopping: Promise<void> | undefined
  const stopAll = (graceful: number | undefined) =>
    (stopping ??= (async () => {
      alerts.stop()
      // Leave first: peers record `left` and take over at once, and the state is saved
      // while the data dir is still open.
      if (graceful !== undefined) await store.leave(graceful)
      else await store.close()
      await node.stop().catch((e) => log('warn', 'stop failed', { error: String(e) }))
    })())
  return {
    name: config.name,
    node,
    store,
    alerts,
    api: (leave) => ({
      node: config.name,
      version: VERSION,
      apiToken: config.apiToken,
      apiReadToken: config.apiReadToken,
      metrics,
      clock,
      health: () => node.health(),
      target: (id) => node.target(id),
      story: (id) => node.story(id),
      part: (id) => node.part(id),
      putTarget: (t) => {
        literalSecrets.check([t], 'API')
        return node.state.putTarget(t)
      },
      deleteTarget: (id) => node.state.removeTarget(id),
      push: (id, beat, o) => node.push(id, beat, o.forwarded),
      silences: () => node.silences(),
      probeOnce: (id) => node.probeOnce(id),
      putSilence: (s) => node.putSilence(s),
      newSilenceId: () => `s-${clock.now().toString(36)}-${silenceIds.int(2 ** 30).toString(36)}`,
      deleteSilence: (id) => node.deleteSilence(id),
      pushTokenMatches,
      members: () => node.members(),
      owners: (id) => node.owners(id),
      ownershipMap: () => node.ownershipMap(),
      newestObservationAt: () => node.newestObservationAt(),
      subscribe: (fn) => node.bus.subscribe(fn),
      leave,
      warnings: () => warnings,
      store: () => store.status?.() ?? { kind: store.kind, ok: true, detail: '' },
    }),
    joined: store.joined,
    warnings,
    start() {
      for (const w of warnings) log('warn', w)
      return store.start()
    },
    applyFile(file) {
      literalSecrets.check(file.targets, 'targets file')
      node.applyFile(file.targets)
      alerts.setHooks(file.webhooks, file.alertmanager)
    },
    leave: (timeoutMs) => stopAll(timeoutMs),
    stop: () => stopAll(undefined),
    rekey(keys) {
      if (!(store instanceof GossipClusterStore)) throw new Error(`the ${store.kind} store has no gossip keys`)
      store.membership.rekey(keys)
    },
  }
}
