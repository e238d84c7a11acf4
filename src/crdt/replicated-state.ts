/**
 * The replicated state of one agent, as the rest of heck sees it: the target
 * registry (add-wins OR map with per-contributor entries) and the health
 * register map, over one causal dot store with delta-state anti-entropy
 * (Almeida, Shoker & Baquero 2018). Pure: time comes from the Clock seam, bytes
 * from the SWIM Delegate (gossip-delegate.ts), which sees this state only
 * through a GossipPort. Everything it needs comes in through the constructor;
 * its replica, anti-entropy and clock stay inside. Values are opaque and
 * CBOR-serialisable, so this does not depend on src/config.
 */
import type { Delegate } from '../membership/delegate.ts'
import type { Registry } from '../metrics/registry.ts'
import type { Clock } from '../seams/clock.ts'
import { AntiEntropy, type DeltaResult } from './anti-entropy.ts'
import { type ChangeEvent, ChangeStream, type HealthObservation } from './change-stream.ts'
import { Tag, canonicalState, decodeMessage, encodeDelta, encodeSnapshot } from './codec.ts'
import { type CrdtCounters, crdtMetrics } from './crdt-metrics.ts'
import { coveredBy, type Delta, type DeltaBuilder } from './dot-store.ts'
import { type GossipPort, type SyncRequestFn, gossipDelegate } from './gossip-delegate.ts'
import { HEALTH_PREFIX, healthObservation, healthRemove, healthWinner, healthWrite } from './health-map.ts'
import { Hlc } from './hlc.ts'
import { defaultCrdtLimits, type CrdtLimits } from './limits.ts'
import { Pruner } from './pruning.ts'
import {
  REGISTRY_PREFIX,
  type TargetView,
  regContributed,
  regPut,
  regRemoveAll,
  regRemoveContribution,
  regResolve,
} from './registry-map.ts'
import { Replica } from './replica.ts'
import { incarnationOf, nodeOfReplica } from './replica-id.ts'
import { sameValue } from './same-value.ts'

export type { ChangeEvent, HealthObservation, TargetView }

export interface ReplicatedStateOptions {
  /** From replicaIdFor(); stable across restarts when persisted with the snapshot. */
  replicaId: string
  nodeName: string
  clock: Clock
  limits?: Partial<CrdtLimits>
  metrics?: Registry
  /**
   * Sends a request to a peer over the membership stream, answered there by this
   * delegate's handleUserRequest. With it, push/pull exchanges digests and pulls
   * exactly what is missing; without it, push/pull ships full state. Membership is
   * built after the state: pass a function that forwards to it once it exists.
   */
  request?: SyncRequestFn
  /** Told when the replica id changes (stale snapshot detected): persist the new one. */
  onReincarnate?: (replicaId: string) => void
  /**
   * Told each local write that must survive a crash, encoded, before the write is
   * answered: every map's but the health register's, which the owner's next checks
   * rebuild (journaling 10,000 checks' refreshes would cost a sync each for nothing).
   * With a data dir it appends to the durable journal (history/state-file.ts).
   */
  journal?: (entry: Uint8Array) => void
}

/** True when a local delta holds a key other than a health register's (see ReplicatedStateOptions.journal). */
function mustLast(d: Delta): boolean {
  for (const k of d.store.keys()) if (!k.startsWith(HEALTH_PREFIX)) return true
  return false
}

export class ReplicatedState {
  readonly limits: CrdtLimits
  readonly nodeName: string
  /** The dot store. Protected, not public: only the test subclass (test/crdt/test-state.ts) reads it. */
  protected readonly rep: Replica
  /** Anti-entropy. Protected, not public: only the test subclass drives it directly. */
  protected readonly ae: AntiEntropy
  private readonly hlc: Hlc
  private readonly changes: ChangeStream
  private readonly pruner: Pruner
  private readonly port: GossipPort
  private readonly counters?: CrdtCounters
  private rejection = ''

  constructor(private readonly opts: ReplicatedStateOptions) {
    this.limits = { ...defaultCrdtLimits, ...opts.limits }
    this.nodeName = opts.nodeName
    this.rep = new Replica(opts.replicaId)
    this.changes = new ChangeStream((k) => this.rep.entries(k), () => opts.clock.now())
    this.hlc = new Hlc(opts.clock, this.limits.maxClockDriftMs)
    this.counters =
      opts.metrics &&
      crdtMetrics(opts.metrics, {
        contextReplicas: () => this.rep.state.ctx.entries,
        heldDeltas: () => this.ae.held.size,
        missingDots: () => this.rep.state.ctx.missingCount(),
        queuedDeltas: () => this.ae.queue.length,
      })
    const c = this.counters
    this.ae = new AntiEntropy(
      this.rep,
      this.limits,
      this.hlc,
      {
        count: (r: DeltaResult, n = 1) => c?.deltas.inc({ result: r }, n),
        changed: (keys) => {
          const news = this.changes.emit(keys)
          if (news) this.changes.tellNews()
          return news
        },
        rejected: (why) => (this.rejection = why),
        ownFuture: () => this.reincarnate(),
        revived: (r) => this.rep.state.ctx.revive(r),
        schedule: (ms, fn) => void opts.clock.after(ms, fn),
        syncDeferred: (reason) => c?.deferred.inc({ reason }),
        syncReplied: (kind) => c?.replies.inc({ kind }),
      },
      () => opts.clock.monotonic(),
    )
    this.pruner = new Pruner(this.rep, this.ae, this.limits, opts.clock, opts.nodeName, (fn) => this.write(fn))
    this.port = this.gossipPort()
  }

  get replicaId(): string {
    return this.rep.self
  }

  /** Why the last message from a peer was rejected (for logs and tests); empty if none was. */
  get lastRejection(): string {
    return this.rejection
  }

  // ---- registry ----

  putTarget(contributor: string, id: string, def: unknown): boolean {
    return this.write((b) => regPut(this.rep, b, contributor, id, def, this.hlc.now(), sameValue))
  }

  /** The API's DELETE: removes every contribution this replica has seen, and the target's health. */
  removeTarget(id: string): boolean {
    return this.write((b) => {
      regRemoveAll(this.rep, b, id)
      healthRemove(this.rep, b, id, this.hlc.now(), this.nodeName)
    })
  }

  /** Drops only `contributor`'s entry; when it was the last one this replica saw, the target's health goes too. */
  removeContribution(contributor: string, id: string): boolean {
    return this.write((b) => this.dropContribution(b, contributor, id))
  }

  private dropContribution(b: DeltaBuilder, contributor: string, id: string): boolean {
    if (!regRemoveContribution(this.rep, b, contributor, id)) return false
    const others = this.rep.entries(REGISTRY_PREFIX + id).filter((e) => (e.v as { c: string }).c !== contributor)
    if (others.length === 0) healthRemove(this.rep, b, id, this.hlc.now(), this.nodeName)
    return true
  }

  /** Makes `contributor`'s entries exactly `defs` (a node's targets file): adds, updates, drops only its own. */
  setContribution(contributor: string, defs: Iterable<{ id: string; def: unknown }>): number {
    const want = new Map<string, unknown>()
    for (const { id, def } of defs) want.set(id, def)
    const have = regContributed(this.rep, contributor)
    const ops: Array<(b: DeltaBuilder) => boolean> = []
    for (const [id, def] of want)
      if (!have.has(id) || !sameValue(have.get(id), def))
        ops.push((b) => regPut(this.rep, b, contributor, id, def, this.hlc.now(), sameValue))
    for (const id of have.keys()) if (!want.has(id)) ops.push((b) => this.dropContribution(b, contributor, id))
    // One write per target: local deltas are grouped by count and bytes into deltas that
    // fit a gossip packet (AntiEntropy.local); fixed chunks of keys did not always fit.
    for (const op of ops) this.write(op)
    return ops.length
  }

  target(id: string): TargetView | undefined {
    return regResolve(this.rep.entries(REGISTRY_PREFIX + id))
  }

  targets(): Map<string, TargetView> {
    const out = new Map<string, TargetView>()
    for (const id of this.rep.keys(REGISTRY_PREFIX)) {
      const t = this.target(id)
      if (t) out.set(id, t)
    }
    return out
  }

  // ---- health ----

  /** Records an observation; returns false when it is fenced out (an equal or greater (term, HLC, node) is known). */
  observe(targetId: string, obs: HealthObservation): boolean {
    const value = { o: obs, term: obs.term, t: this.hlc.now(), w: this.nodeName }
    return this.write((b) => healthWrite(this.rep, b, targetId, value))
  }

  forgetHealth(targetId: string): boolean {
    return this.write((b) => healthRemove(this.rep, b, targetId, this.hlc.now(), this.nodeName))
  }

  health(targetId: string): HealthObservation | undefined {
    return healthObservation(this.rep.entries(HEALTH_PREFIX + targetId)) as HealthObservation | undefined
  }

  /** The ownership term of the target's winning health value, a tombstone included (0 if none). */
  healthTerm(targetId: string): number {
    return healthWinner(this.rep.entries(HEALTH_PREFIX + targetId))?.term ?? 0
  }

  allHealth(): Map<string, HealthObservation> {
    const out = new Map<string, HealthObservation>()
    for (const id of this.rep.keys(HEALTH_PREFIX)) {
      const h = this.health(id)
      if (h) out.set(id, h)
    }
    return out
  }

  // ---- change stream ----

  onChange(cb: (e: ChangeEvent) => void): () => void {
    return this.changes.onChange(cb)
  }

  /** One local mutation: joined here, shipped, and told to listeners. Protected for the test subclass's test-bed maps. */
  protected write(fn: (b: DeltaBuilder) => unknown): boolean {
    const d = this.rep.mutate(fn)
    if (!d) return false
    if (this.opts.journal && mustLast(d)) this.opts.journal(encodeDelta(d))
    this.ae.local(d)
    if (this.changes.emit(d.store.keys())) {
      // News ships now, ahead of the queue, and asks membership for a gossip round (news.ts).
      this.ae.flushLocal(true)
      this.changes.tellNews()
    }
    return true
  }

  // ---- gossip, persistence, pruning ----

  /** The SWIM delegate: piggybacked deltas, push/pull digests, digest-driven sync. */
  delegate(): Delegate {
    return gossipDelegate(this.port, this.opts.clock, this.opts.request)
  }

  /** What the delegate sees of this state: the wire side of anti-entropy, news and byte counts. */
  private gossipPort(): GossipPort {
    const ae = this.ae
    return {
      nodeName: this.nodeName,
      limits: this.limits,
      takeBroadcasts: (overheadBytes, limitBytes) => ae.takeBroadcasts(overheadBytes, limitBytes),
      receive: (from, payload) => ae.receive(from, payload),
      isNews: (d) => this.changes.isNews(d),
      waitingOn: (d) => ae.waitingOn(d),
      gaps: () => ae.gaps(),
      get wantSync() {
        return ae.wantSync
      },
      behind: (ctx) => ae.behind(ctx),
      fullState: () => ae.fullState(Tag.Full),
      digest: () => ae.digest(Tag.Digest),
      applyMessage: (from, payload) => ae.applyMessage(from, payload),
      syncRequest: (origins) => ae.syncRequest(origins),
      answerSync: (from, payload) => ae.answerSync(from, payload),
      countBytes: (direction, kind, n) => this.counters?.bytes.inc({ direction, kind }, n),
      onNews: (listener) => this.changes.onNews(listener),
    }
  }

  /** Canonical bytes of the whole state: replicas with equal digests hold equal state. */
  digest(): Uint8Array {
    return canonicalState(this.rep.state)
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.rep.self, this.rep.state)
  }

  /** Restores a snapshot: adopted whole if it is this replica id's own, else joined as a remote full state. */
  restore(buf: Uint8Array): boolean {
    const r = decodeMessage(buf, this.limits)
    if (!r.ok || r.msg.tag !== Tag.Snapshot) return false
    const { replicaId, state, folded } = r.msg
    if (replicaId === this.rep.self && this.rep.state.store.size === 0) {
      this.rep.state = state
      for (const [rid, upTo, at] of folded) state.ctx.fold(rid, upTo, at)
      for (const k of state.store.keys()) this.changes.emit([k])
      this.ae.observeStamps(state)
      return true
    }
    return this.ae.mergeFull(state)
  }

  /**
   * Replays the journal after restore(): each of this replica's own writes that the
   * snapshot does not hold is joined again and spread as if just made (same dots, same
   * stamps: replaying twice, or a write peers already have, changes nothing). An entry of
   * an earlier incarnation is joined as a peer's would be. Returns how many were joined.
   */
  replay(entries: Iterable<Uint8Array>): number {
    let n = 0
    for (const buf of entries) {
      const r = decodeMessage(buf, this.limits)
      if (!r.ok || r.msg.tag !== Tag.Delta) continue
      const d = r.msg.delta
      if (coveredBy(this.rep.state.ctx, d)) continue
      if (d.origin === this.rep.self) {
        this.ae.observeStamps(d)
        this.rep.applyDelta(d)
        this.ae.local(d)
        this.changes.emit(d.store.keys())
        n++
      } else if (this.ae.receiveDelta(d) === 'applied') n++
    }
    return n
  }

  /**
   * Re-mints and folds replicas that are not live. `live` holds node names or
   * replica ids (from membership); older incarnations of a live node count as dead.
   * Call it whenever membership changes and every few seconds (it is cheap when
   * nothing is dead).
   */
  pruneReplicas(live: Iterable<string>): { reminted: number; folded: string[] } {
    return this.pruner.prune(live)
  }

  /** Switches to a fresh incarnation (our snapshot was stale: peers hold newer dots of our id). */
  private reincarnate(): void {
    const old = this.rep.self
    const inc = Math.max(Math.floor(this.opts.clock.now()), incarnationOf(old) + 1)
    this.rep.self = `${nodeOfReplica(old)}#${inc.toString(36)}`
    this.opts.onReincarnate?.(this.rep.self)
  }

  /** Metadata and buffer sizes, for benchmarks and /metrics. */
  stats(): { contextReplicas: number; folded: number; exceptions: number; keys: number; held: number; queued: number; logBytes: number } {
    const ctx = this.rep.state.ctx
    return {
      contextReplicas: ctx.entries,
      folded: ctx.foldedReplicas().size,
      exceptions: ctx.exceptionCount(),
      keys: this.rep.state.store.size,
      held: this.ae.held.size,
      queued: this.ae.queue.length,
      logBytes: this.ae.log.bytes,
    }
  }
}

