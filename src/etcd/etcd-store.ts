/**
 * The consensus ClusterStore (node/cluster-store.ts): membership and state through
 * an etcd cluster, over its JSON gateway (gateway.ts). Keys under PREFIX:
 *
 * - `members/NAME`: this node's metadata (HTTP address, version, boot) under a lease
 *   of its own (TTL `leaseTtlMs`), kept alive every third of the TTL. A node whose
 *   lease expires is gone for everyone (`dead`); a graceful leave writes `left/NAME`
 *   (under a one-minute lease of its own) and revokes the lease at once (`left`).
 * - `targets/ID`, `health/ID`: the registry and the health map (etcd-state.ts).
 *
 * One watch on the prefix feeds a local cache that every read is served from, in
 * etcd's revision order, so every node sees the same member list at the same
 * revision and computes the same owners. A dropped watch resumes from the last
 * revision seen; a compacted one reads everything again. While this node's lease is
 * lapsed (etcd out of reach for longer than the TTL), it counts itself `dead`: it
 * checks nothing and writes nothing, since the others have taken its targets over.
 * That is the consensus side of CAP: the minority stops rather than double-checks.
 */
import type { ClusterStore, StoreStatus } from '../node/cluster-store.ts'
import type { ClusterView } from '../node/cluster-view.ts'
import type { MemberState, MemberView } from '../node/types.ts'
import type { Clock } from '../seams/clock.ts'
import type { Logger } from '../seams/log.ts'
import { EtcdState } from './etcd-state.ts'
import { CompactedError, EtcdGateway, type KeyValue, type WatchEvent } from './gateway.ts'

export interface EtcdStoreOptions {
  name: string
  /** etcd client endpoints, "host:port". */
  endpoints: string[]
  /** Key prefix of this cluster, ending in "/"; several clusters may share one etcd. Default "/heck/". */
  prefix: string
  /**
   * The member lease's TTL (ms). A crashed node's targets move after at most this
   * long (plus an interval); shorter moves them sooner but asks etcd for a keepalive
   * more often and gives up sooner on a slow etcd. Default 5000.
   */
  leaseTtlMs: number
  /** Metadata peers see (HTTP address, version, boot). */
  meta: Record<string, string>
  clock: Clock
  log: Logger
}

/** How long (ms) a member that went away stays listed as `dead` or `left`. */
const GONE_KEEP_MS = 10 * 60_000
/** Back-off (ms) between attempts while etcd cannot be reached. */
const RETRY_MS = 1000

class EtcdMembers implements ClusterView {
  readonly live = new Map<string, KeyValue>()
  readonly gone = new Map<string, { state: MemberState; at: number; addr: string }>()
  readonly leftMarks = new Set<string>()
  private readonly listeners = new Set<() => void>()
  selfAlive = false

  constructor(
    private readonly self: string,
    private readonly selfMeta: Record<string, string>,
    private readonly clock: Clock,
  ) {}

  members(): Array<Omit<MemberView, 'owned'>> {
    const out: Array<Omit<MemberView, 'owned'>> = []
    const now = this.clock.now()
    for (const [name, kv] of this.live) {
      if (name === this.self) continue
      const meta = parseMeta(kv.value)
      out.push({ name, addr: meta.http ?? '-', state: 'alive', incarnation: kv.createRevision, meta })
    }
    for (const [name, g] of this.gone) {
      if (name === this.self || this.live.has(name)) continue
      if (now - g.at > GONE_KEEP_MS) this.gone.delete(name)
      else out.push({ name, addr: g.addr, state: g.state, incarnation: 0 })
    }
    out.push({ name: this.self, addr: this.selfMeta.http ?? '-', state: this.selfAlive ? 'alive' : 'dead', incarnation: this.live.get(this.self)?.createRevision ?? 0, meta: this.selfMeta })
    return out
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  changed(): void {
    for (const fn of this.listeners) fn()
  }

  apply(name: string, kv: KeyValue | undefined): void {
    if (kv) {
      this.live.set(name, kv)
      this.gone.delete(name)
      return
    }
    const had = this.live.get(name)
    if (!had) return
    this.live.delete(name)
    this.gone.set(name, { state: this.leftMarks.has(name) ? 'left' : 'dead', at: this.clock.now(), addr: parseMeta(had.value).http ?? '-' })
  }
}

function parseMeta(v: string): Record<string, string> {
  try {
    const o = JSON.parse(v) as Record<string, unknown>
    return Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string'))
  } catch {
    return {}
  }
}

export class EtcdClusterStore implements ClusterStore {
  readonly kind = 'etcd' as const
  readonly cluster: EtcdMembers
  readonly state: EtcdState
  readonly joined: Promise<void>
  private readonly gw: EtcdGateway
  private lease: string | undefined
  /** The revision of this node's latest member-key put. */
  private registeredRev = 0
  /** Wall ms of the last keepalive etcd confirmed. */
  private leaseConfirmedAt = 0
  private stopped = false
  private watchAbort?: AbortController
  private revision = 0
  private lastError = ''
  private resolveJoined!: () => void
  private keepaliveCancel?: () => void

  constructor(private readonly o: EtcdStoreOptions) {
    this.gw = new EtcdGateway(o.endpoints, Math.min(3000, Math.max(500, o.leaseTtlMs / 2)))
    this.cluster = new EtcdMembers(o.name, o.meta, o.clock)
    this.state = new EtcdState({
      gateway: this.gw,
      prefix: o.prefix,
      log: o.log,
      fence: () => (this.lease && this.cluster.selfAlive ? { key: this.memberKey(o.name), lease: this.lease } : undefined),
    })
    this.joined = new Promise((r) => (this.resolveJoined = r))
  }

  get addr(): string {
    return `etcd://${this.o.endpoints.join(',')}${this.o.prefix}`
  }

  private memberKey(name: string): string {
    return `${this.o.prefix}members/${name}`
  }

  status(): StoreStatus {
    const ok = this.cluster.selfAlive && this.lastError === ''
    return { kind: 'etcd', ok, detail: ok ? `member of ${this.addr} at revision ${this.revision}` : this.lastError || 'not a member yet (no lease)' }
  }

  /** Never rejects: etcd out of reach at start is retried in the background and reported by status(). */
  async start(): Promise<void> {
    void this.run()
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.lease || !this.cluster.selfAlive) await this.register()
        // Once read, the cache follows the watch from the last revision seen, across
        // disconnects; only a compacted revision (watchLoop) makes it read everything again.
        if (this.revision === 0) await this.readAll()
        this.resolveJoined()
        await this.state.flush()
        await this.watchLoop()
      } catch (e) {
        this.fail(e)
        await new Promise<void>((r) => this.o.clock.after(RETRY_MS, r))
      }
    }
  }

  private fail(e: unknown): void {
    const msg = e instanceof Error ? e.message : String(e)
    if (msg !== this.lastError) this.o.log('warn', 'etcd store: retrying', { error: msg })
    this.lastError = msg
  }

  /** A new lease and this node's member key under it; keepalives from then on. */
  private async register(): Promise<void> {
    const ttlS = Math.max(2, Math.round(this.o.leaseTtlMs / 1000))
    const lease = await this.gw.grant(ttlS)
    this.registeredRev = await this.gw.put(this.memberKey(this.o.name), JSON.stringify(this.o.meta), lease)
    this.lease = lease
    this.leaseConfirmedAt = this.o.clock.now()
    this.setSelfAlive(true)
    this.lastError = ''
    this.o.log('info', 'etcd store: member', { lease, ttl_s: ttlS, endpoints: this.o.endpoints.join(',') })
    this.scheduleKeepalive()
  }

  private scheduleKeepalive(): void {
    this.keepaliveCancel?.()
    this.keepaliveCancel = this.o.clock.after(Math.max(200, this.o.leaseTtlMs / 3), () => void this.keepalive())
  }

  private async keepalive(): Promise<void> {
    if (this.stopped || !this.lease) return
    const lease = this.lease
    try {
      const ttl = await this.gw.keepAlive(lease)
      if (ttl <= 0) throw new Error('lease expired')
      this.leaseConfirmedAt = this.o.clock.now()
      if (this.lastError.startsWith('etcd unreachable')) this.lastError = ''
    } catch (e) {
      this.fail(e)
      // Two thirds of the TTL without a confirmed keepalive (two missed in a row): etcd lets the
      // lease go within the last third, and the others take this node's targets then. It stops
      // checking and writing first, so that nothing is checked twice (a target may go unchecked
      // for up to a third of the TTL instead), until it registers again.
      if (String(e).includes('lease expired') || this.o.clock.now() - this.leaseConfirmedAt >= (this.o.leaseTtlMs * 2) / 3) {
        if (this.lease === lease) this.lease = undefined
        this.setSelfAlive(false)
        this.watchAbort?.abort() // the run loop registers again once etcd answers
      }
    }
    this.scheduleKeepalive()
  }

  private setSelfAlive(alive: boolean): void {
    if (this.cluster.selfAlive === alive) return
    this.cluster.selfAlive = alive
    if (!alive) this.o.log('warn', 'etcd store: this node\'s lease lapsed; it checks nothing until it is a member again')
    this.cluster.changed()
  }

  /** Everything under the prefix at one revision. */
  /** Full reads of the prefix so far: one at start, then one per compacted watch (tests read it). */
  fullReads = 0

  private async readAll(): Promise<void> {
    const { kvs, revision } = await this.gw.range(this.o.prefix, { prefix: true })
    this.fullReads++
    const targets = new Map<string, KeyValue>()
    const health = new Map<string, KeyValue>()
    const members = new Map<string, KeyValue>()
    const left = new Set<string>()
    for (const kv of kvs) {
      const [kind, id] = this.split(kv.key)
      if (kind === 'targets') targets.set(id, kv)
      else if (kind === 'health') health.set(id, kv)
      else if (kind === 'members') members.set(id, kv)
      else if (kind === 'left') left.add(id)
      else if (kind === 'records') this.state.applyRecord(id, kv.value)
    }
    this.cluster.leftMarks.clear()
    for (const n of left) this.cluster.leftMarks.add(n)
    for (const name of [...this.cluster.live.keys()]) if (!members.has(name)) this.cluster.apply(name, undefined)
    for (const [name, kv] of members) this.cluster.apply(name, kv)
    this.state.replaceAll(targets, health)
    this.revision = revision
    this.cluster.changed()
  }

  private split(key: string): [string, string] {
    const rest = key.slice(this.o.prefix.length)
    const slash = rest.indexOf('/')
    return slash < 0 ? ['', rest] : [rest.slice(0, slash), rest.slice(slash + 1)]
  }

  /** Follows the prefix from the last revision seen; returns when the stream ends. */
  private async watchLoop(): Promise<void> {
    while (!this.stopped && this.cluster.selfAlive) {
      const ac = new AbortController()
      this.watchAbort = ac
      try {
        await this.gw.watch(this.o.prefix, this.revision + 1, ac.signal, (events, revision) => this.onEvents(events, revision))
      } catch (e) {
        if (this.stopped) return
        if (e instanceof CompactedError) {
          this.o.log('info', 'etcd store: watch revision compacted; reading everything again', { revision: this.revision })
          await this.readAll()
          continue
        }
        if (ac.signal.aborted) return
        throw e
      }
    }
  }

  private onEvents(events: WatchEvent[], revision: number): void {
    let members = false
    for (const e of events) {
      const [kind, id] = this.split(e.kv.key)
      const kv = e.type === 'put' ? e.kv : undefined
      if (kind === 'targets' || kind === 'health') this.state.applyKv(kind, id, kv)
      else if (kind === 'records') this.state.applyRecord(id, kv?.value)
      else if (kind === 'left') {
        if (kv) this.cluster.leftMarks.add(id)
        else this.cluster.leftMarks.delete(id)
      } else if (kind === 'members') {
        this.cluster.apply(id, kv)
        members = true
        // Our own key gone while we think we hold it: the lease lapsed at etcd.
        // (A delete from before this registration, replayed by a resumed watch, is the old key's.)
        if (id === this.o.name && !kv && e.kv.modRevision > this.registeredRev && this.cluster.selfAlive && !this.stopped) {
          this.lease = undefined
          this.setSelfAlive(false)
        }
      }
      this.revision = Math.max(this.revision, e.kv.modRevision)
    }
    this.revision = Math.max(this.revision, revision)
    if (members) this.cluster.changed()
    if (this.lastError && this.cluster.selfAlive) this.lastError = ''
  }

  async leave(timeoutMs: number): Promise<void> {
    const lease = this.lease
    this.stopped = true
    this.keepaliveCancel?.()
    this.watchAbort?.abort()
    if (!lease) return
    const work = (async () => {
      const mark = await this.gw.grant(60)
      await this.gw.put(`${this.o.prefix}left/${this.o.name}`, JSON.stringify({ at: this.o.clock.now() }), mark)
      await this.gw.revoke(lease)
    })()
    const timeout = new Promise<void>((r) => this.o.clock.after(timeoutMs, r))
    await Promise.race([work.catch((e) => this.o.log('warn', 'etcd store: leave incomplete; peers will see this node dead when its lease ends', { error: String(e) })), timeout])
  }

  async close(): Promise<void> {
    this.stopped = true
    this.keepaliveCancel?.()
    this.watchAbort?.abort()
  }
}
