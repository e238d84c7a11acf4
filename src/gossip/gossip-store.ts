/**
 * The gossip ClusterStore (node/cluster-store.ts): SWIM membership (Das et al.
 * 2002, with Lifeguard) carrying the delta-CRDT replicated state (Almeida, Shoker &
 * Baquero 2018) as memberlist's Delegate. With a data dir, the replica id, a
 * snapshot and a journal of acknowledged writes since it are kept durable
 * (history/state-file.ts), so a restart resumes instead of starting over and loses
 * nothing it answered 2xx for. Every timer (retry-join, the join deadline, pruning, saving) runs
 * on the injected clock, so whole agents run in the simulator.
 */
import { replicaIdFor } from '../crdt/replica-id.ts'
import { ReplicatedState } from '../crdt/replicated-state.ts'
import type { DurableState } from '../history/state-file.ts'
import type { ProfileName, SwimConfig } from '../membership/config.ts'
import type { Registry } from '../metrics/registry.ts'
import type { ClusterStore } from '../node/cluster-store.ts'
import type { Cancel, Clock } from '../seams/clock.ts'
import type { Logger } from '../seams/log.ts'
import type { Rng } from '../seams/rng.ts'
import type { Transport } from '../seams/transport.ts'
import { GossipStateStore } from './gossip-state.ts'
import { SwimMembership } from './membership.ts'
import { SwimClusterView } from './swim-view.ts'

const REPLICA_KEY = 'crdt.replica-id'
const STATE_KEY = 'crdt.snapshot'
/** The keys this store keeps in DurableState.kv. */
export const SAVED_KEYS = [REPLICA_KEY, STATE_KEY] as const

export interface GossipSettings {
  name: string
  profile: ProfileName
  /** SWIM knobs that override the profile's; for experiments, benchmarks and the simulator. */
  swimOverrides?: Partial<SwimConfig>
  /** base64 AES-256 keys; the first encrypts, all decrypt. Empty: gossip in clear. */
  keys: string[]
  /** See MembershipOptions.clusterName. */
  clusterName?: string
  /** Seeds that must answer: start() rejects if none does within joinTimeoutMs. */
  join: string[]
  /** Seeds retried in the background every retryIntervalMs until one answers. */
  retryJoin: string[]
  joinTimeoutMs: number
  retryIntervalMs: number
  /** Metadata peers see (HTTP address, version, boot). */
  meta: Record<string, string>
  /**
   * How often (ms) a snapshot of the replicated state is written to the data dir, which
   * empties the journal of acknowledged writes (a crash loses none of those either way).
   * Longer keeps a longer journal to replay at start; shorter costs a full encode each
   * time (a few MB at 10,000 targets). Default 15000.
   */
  persistEveryMs?: number
  /** How often (ms) dead replicas are re-minted and folded, besides on every membership change. Default 5000. */
  pruneEveryMs?: number
  /** Timeout (ms) of one anti-entropy pull from a peer. Default 5000. */
  syncTimeoutMs?: number
}

export interface GossipIO {
  clock: Clock
  rng: Rng
  /** Bound; closed with the store. */
  transport: Transport
  log: Logger
  metrics: Registry
  /** What the data dir keeps durable (replica id, snapshot, journal), when there is one. */
  durable?: DurableState
}

export class GossipClusterStore implements ClusterStore {
  readonly kind = 'gossip' as const
  readonly state: GossipStateStore
  readonly cluster: SwimClusterView
  readonly membership: SwimMembership
  readonly joined: Promise<void>
  private readonly rs: ReplicatedState
  private readonly timers: Cancel[] = []
  private resolveJoined!: () => void
  private closed = false

  constructor(private readonly s: GossipSettings, private readonly io: GossipIO) {
    const { clock, log, metrics, durable } = io
    const kv = durable?.kv
    const idStore = kv && {
      load: () => {
        const v = kv.get(REPLICA_KEY)
        return v === undefined ? undefined : new TextDecoder().decode(v)
      },
      save: (id: string) => kv.put(REPLICA_KEY, id),
    }
    // The request channel is membership's, which is built next with this state's delegate.
    let request: (to: string, payload: Uint8Array) => Promise<Uint8Array> = () => Promise.reject(new Error('membership not started'))
    this.rs = new ReplicatedState({
      replicaId: replicaIdFor(s.name, clock, idStore),
      nodeName: s.name,
      clock,
      metrics,
      request: (to, payload) => request(to, payload),
      onReincarnate: (id) => idStore?.save(id),
      ...(durable ? { journal: (entry: Uint8Array) => durable.append(entry) } : {}),
    })
    const snap = kv?.get(STATE_KEY)
    if (snap) {
      const ok = this.rs.restore(snap)
      log(ok ? 'info' : 'warn', ok ? 'restored the last known cluster state' : 'ignored an unreadable saved state', { bytes: snap.byteLength })
    }
    if (durable) {
      const replayed = this.rs.replay(durable.entries())
      if (replayed > 0) log('info', 'replayed acknowledged writes from the journal', { writes: replayed })
    }
    const invalid = metrics.counter('heck_invalid_targets_total', 'Target definitions from peers refused because their shape was invalid')
    this.state = new GossipStateStore(this.rs, () => durable?.durable() ?? Promise.resolve(), (id) => {
      invalid.inc()
      log('warn', 'ignored an invalid target definition from a peer', { id })
    })
    this.membership = new SwimMembership({
      name: s.name,
      transport: io.transport,
      clock,
      rng: io.rng.fork('swim'),
      profile: s.profile,
      overrides: s.swimOverrides,
      keys: s.keys,
      clusterName: s.clusterName,
      meta: s.meta,
      delegate: this.rs.delegate(),
      metrics,
      log,
    })
    const syncTimeoutMs = s.syncTimeoutMs ?? 5000
    request = (to, payload) => this.membership.userRequest(to, payload, syncTimeoutMs)
    this.cluster = new SwimClusterView(this.membership)
    this.cluster.onChange(() => this.prune())
    this.joined = new Promise<void>((resolve) => (this.resolveJoined = resolve))
  }

  get addr(): string {
    return this.membership.addr
  }

  async start(): Promise<void> {
    const { clock } = this.io
    this.membership.start()
    this.every(this.s.pruneEveryMs ?? 5000, () => this.prune())
    if (this.io.durable) this.every(this.s.persistEveryMs ?? 15_000, () => this.persist())
    if (this.s.join.length > 0) {
      const ok = await this.membership.join(this.s.join, this.s.joinTimeoutMs)
      if (ok === 0) {
        await this.close()
        throw new Error(
          `could not join the cluster: none of ${this.s.join.join(', ')} answered within ${this.s.joinTimeoutMs} ms ` +
            `(unreachable, not a heck agent, or a different --encrypt key)`,
        )
      }
    }
    if (this.s.retryJoin.length > 0) this.membership.retryJoin(this.s.retryJoin, this.s.retryIntervalMs, this.s.joinTimeoutMs)
    // With --retry-join the join runs in the background: wait (bounded) until a peer is met.
    if (this.s.retryJoin.length === 0 || this.membership.members().length > 1) return this.resolveJoined()
    const cancel = clock.after(this.s.joinTimeoutMs, () => this.resolveJoined())
    const off = this.cluster.onChange(() => {
      if (this.membership.members().length < 2) return
      cancel()
      off()
      this.resolveJoined()
    })
  }

  async leave(timeoutMs: number): Promise<void> {
    if (this.closed) return
    this.persist()
    await this.membership.leave(timeoutMs).catch((e) => this.io.log('warn', 'leave failed', { error: String(e) }))
    await this.close()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const cancel of this.timers) cancel()
    this.resolveJoined()
    await this.membership.shutdown()
  }

  /** Replicated-state sizes, for benchmarks and tests. */
  stats(): ReturnType<ReplicatedState['stats']> {
    return this.rs.stats()
  }

  /** Runs `fn` every `ms` on the clock until the store closes. */
  private every(ms: number, fn: () => void): void {
    const slot = this.timers.length
    const tick = () => {
      if (this.closed) return
      fn()
      this.timers[slot] = this.io.clock.after(ms, tick)
    }
    this.timers.push(this.io.clock.after(ms, tick))
  }

  private prune(): void {
    const live = this.membership.members().filter((m) => m.state === 'alive' || m.state === 'suspect').map((m) => m.name)
    this.rs.pruneReplicas(live)
  }

  private persist(): void {
    const durable = this.io.durable
    if (!durable) return
    try {
      durable.checkpoint(STATE_KEY, this.rs.snapshot())
    } catch (e) {
      this.io.log('warn', 'could not save the cluster state', { error: e instanceof Error ? e.message : String(e) })
    }
  }
}
