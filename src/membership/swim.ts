/**
 * The SWIM core (Das et al. 2002) with Lifeguard (Dadgar et al. 2017), following
 * hashicorp/memberlist: a synchronous state machine behind Clock, Rng and
 * Transport. It probes members on a rotating ring (or shuffled round robin; see
 * probe-schedule.ts), asks k others to probe
 * indirectly (with nacks) when a ping goes unanswered, suspects, confirms, declares
 * dead, refutes claims about itself, and piggybacks news on every packet.
 * Message handling lives in swim-node.ts, state changes in swim-state.ts, one probe
 * in swim-probe.ts, gossip rounds and push/pull in swim-sync.ts.
 */
import type { Clock, Cancel } from '../seams/clock.ts'
import type { Rng } from '../seams/rng.ts'
import type { Transport } from '../seams/transport.ts'
import { MESSAGE_OVERHEAD_BYTES, type SwimCodec } from '../codec/swim-envelope.ts'
import { MsgTag, type Msg } from '../codec/swim-messages.ts'
import type { SwimConfig } from './config.ts'
import type { Delegate } from './delegate.ts'
import { applyHealthDelta, pushPullScaleMs, retransmitLimit, scaleByHealth } from './math.ts'
import { BroadcastQueue } from './broadcast-queue.ts'
import { SwimState } from './swim-state.ts'
import { gossipRound, pushPull, pushPullRound } from './swim-sync.ts'
import { probeMember } from './swim-probe.ts'
import { msUntilNextTick, probeRound, ringTarget } from './probe-schedule.ts'
import type { Logger } from '../seams/log.ts'
import type { Meta, SwimStats } from './types.ts'

export interface SwimOptions {
  name: string
  config: SwimConfig
  clock: Clock
  rng: Rng
  transport: Transport
  codec: SwimCodec
  meta?: Meta
  delegate?: Delegate
  /** false runs plain SWIM: no health scaling, fixed suspicion timeout, no buddy. Default true. */
  lifeguard?: boolean
  log?: Logger
  /** Where to count bytes and drops; the facade passes one that feeds metrics. */
  stats?: SwimStats
}

export interface AckWaiter {
  onAck: () => void
  onNack: () => void
}

// A delegate payload is wrapped as [tag, bytes]: array + tag + byte-string header.
const USER_MSG_OVERHEAD = 6

export class Swim extends SwimState {
  readonly stats: SwimStats
  readonly queue = new BroadcastQueue()
  readonly transport: Transport
  readonly codec: SwimCodec
  readonly delegate?: Delegate
  readonly rng: Rng
  health = 0
  private seq = 1
  /** Pending probes by sequence number; internal to the core (swim-probe.ts uses it). */
  readonly acks = new Map<number, AckWaiter>()
  private probeOrder: string[] = []
  private probeIndex = 0
  /** This node's fixed offset into each shared probe round (ring schedule). */
  private readonly probePhaseMs: number
  private ring: { version: number; names: string[] } = { version: -1, names: [] }
  private timers: Cancel[] = []
  stopped = false
  private urgentPending = false
  private lastUrgentAt = Number.NEGATIVE_INFINITY

  constructor(opts: SwimOptions) {
    super(opts.name, opts.transport.localAddr, opts.meta ?? {}, opts.config, opts.clock, opts.lifeguard ?? true, opts.log)
    this.stats = opts.stats ?? { bytesIn: 0, bytesOut: 0, drops: new Map() }
    this.transport = opts.transport
    this.codec = opts.codec
    this.delegate = opts.delegate
    this.rng = opts.rng
    this.probePhaseMs = this.rng.int(opts.config.probeIntervalMs)
    this.delegate?.attach?.({ gossipSoon: () => this.gossipSoon() })
    const metaBytes = this.codec.encodeMsg({ t: MsgTag.Alive, inc: 0, node: '', addr: '', meta: this.meta }).length
    if (metaBytes > opts.config.metaMaxBytes) throw new Error(`node metadata too large: ${metaBytes} > ${opts.config.metaMaxBytes} bytes`)
  }

  /** Starts the probe, gossip, push/pull and reap loops. Handlers are wired by the subclass. */
  protected startLoops(): void {
    const c = this.config
    if (c.probeSchedule === 'ring') {
      const every = () => msUntilNextTick(this.clock.now(), this.probePhaseMs, c.probeIntervalMs, this.lifeguard ? this.health + 1 : 1)
      this.loop(every, () => this.probeTick(), msUntilNextTick(this.clock.now(), this.probePhaseMs, c.probeIntervalMs))
    } else {
      this.loop(() => this.scaled(c.probeIntervalMs), () => this.probeTick(), this.rng.int(c.probeIntervalMs))
    }
    this.loop(() => c.gossipIntervalMs, () => this.gossipTick(), this.rng.int(c.gossipIntervalMs))
    if (c.pushPullIntervalMs > 0) {
      this.loop(() => pushPullScaleMs(c.pushPullIntervalMs, this.liveCount()), () => this.pushPullTick(), c.pushPullIntervalMs)
    }
    const reapEvery = Math.min(10_000, Math.max(1000, c.reapAfterMs / 4))
    this.loop(() => reapEvery, () => this.reap(), reapEvery)
  }

  stop(): void {
    this.stopped = true
    for (const cancel of this.timers) cancel()
    this.timers = []
    for (const m of this.members.values()) m.suspicion?.cancel()
    this.acks.clear()
    this.queue.clear()
  }

  get isStopped(): boolean {
    return this.stopped
  }

  private loop(every: () => number, fn: () => void, firstMs: number): void {
    const slot = this.timers.length
    const run = () => {
      if (this.stopped) return
      fn()
      this.timers[slot] = this.clock.after(every(), run)
    }
    this.timers.push(this.clock.after(firstMs, run))
  }

  scaled(ms: number): number {
    return this.lifeguard ? scaleByHealth(ms, this.health) : ms
  }

  override adjustHealth(delta: number): void {
    if (!this.lifeguard) return
    this.health = applyHealthDelta(this.health, delta, this.config.awarenessMaxMultiplier)
  }

  override broadcast(node: string, m: Msg): void {
    this.queue.queue(node, this.codec.encodeMsg(m))
    if (m.t === MsgTag.Suspect || m.t === MsgTag.Dead || m.t === MsgTag.Leave || (m.t === MsgTag.Alive && node === this.name)) this.gossipSoon()
  }

  /**
   * An extra gossip round soon, for urgent news (config.urgentGossipDelayMs): batched
   * over the delay, and at most one per quarter gossip interval.
   */
  gossipSoon(): void {
    const c = this.config
    if (this.stopped || this.urgentPending || c.urgentGossipDelayMs < 0) return
    this.urgentPending = true
    const now = this.clock.monotonic()
    const wait = Math.max(c.urgentGossipDelayMs, this.lastUrgentAt + c.gossipIntervalMs / 4 - now)
    this.clock.after(wait, () => {
      this.urgentPending = false
      this.lastUrgentAt = this.clock.monotonic()
      if (!this.stopped) gossipRound(this)
    })
  }

  drop(reason: string): void {
    this.stats.drops.set(reason, (this.stats.drops.get(reason) ?? 0) + 1)
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1
    return this.seq
  }

  /** Sends `msgs` in one datagram, filling the rest of the budget with piggybacked news. */
  send(addr: string, msgs: Msg[], piggyback = true): void {
    if (this.stopped) return
    const encoded = msgs.map((m) => this.codec.encodeMsg(m))
    const limit = this.config.packetLimitBytes
    let used = this.codec.envelopeOverheadBytes
    for (const e of encoded) used += e.length + MESSAGE_OVERHEAD_BYTES
    if (piggyback) {
      const more = this.takeBroadcasts(limit - used)
      for (const m of more) encoded.push(m)
    }
    for (const pkt of this.codec.packAll(encoded, limit)) {
      this.stats.bytesOut += pkt.length
      this.transport.sendPacket(addr, pkt)
    }
  }

  /** Own broadcasts first, then the delegate's payloads, within `budget` bytes. */
  takeBroadcasts(budget: number): Uint8Array[] {
    if (budget <= MESSAGE_OVERHEAD_BYTES) return []
    const limit = retransmitLimit(this.config.retransmitMult, this.liveCount())
    const out = this.queue.take(MESSAGE_OVERHEAD_BYTES, budget, limit)
    let used = 0
    for (const m of out) used += m.length + MESSAGE_OVERHEAD_BYTES
    const rest = budget - used
    if (this.delegate && rest > USER_MSG_OVERHEAD + MESSAGE_OVERHEAD_BYTES) {
      for (const p of this.delegate.getBroadcasts(USER_MSG_OVERHEAD + MESSAGE_OVERHEAD_BYTES, rest)) {
        out.push(this.codec.encodeMsg({ t: MsgTag.User, payload: p }))
      }
    }
    return out
  }

  // ---- probe round ----

  private nextProbeTarget(): string | undefined {
    if (this.config.probeSchedule === 'ring') {
      if (this.ring.version !== this.liveVersion) {
        const names = [this.name]
        for (const m of this.members.values()) if (m.state === 'alive' || m.state === 'suspect') names.push(m.name)
        this.ring = { version: this.liveVersion, names: names.sort() }
      }
      return ringTarget(this.ring.names, this.name, probeRound(this.clock.now(), this.probePhaseMs, this.config.probeIntervalMs))
    }
    for (let tries = 0; tries <= this.probeOrder.length; tries++) {
      if (this.probeIndex >= this.probeOrder.length) {
        this.probeOrder = this.rng.shuffle([...this.members.keys()])
        this.probeIndex = 0
        if (this.probeOrder.length === 0) return undefined
      }
      const name = this.probeOrder[this.probeIndex++] as string
      const m = this.members.get(name)
      if (m && (m.state === 'alive' || m.state === 'suspect')) return name
    }
    return undefined
  }

  /** New members enter the probe order at a random place (memberlist), not all at the end. */
  override onNewMember(name: string): void {
    if (this.config.probeSchedule === 'ring') return // the ring is rebuilt from the members
    const i = this.probeIndex + this.rng.int(this.probeOrder.length - this.probeIndex + 1)
    this.probeOrder.splice(i, 0, name)
  }

  private staleAnswered = new Map<string, number>()

  /**
   * An accusation against `about` older than its known incarnation reached us: its
   * accuser missed the refutation, which gossip spreads only mult × log10(n) times and
   * so, now and then, not to everyone. memberlist drops such a claim, and the accuser
   * waits for a push/pull (30 s on lan) while it suspects, then buries, a live node. We
   * send the accuser the refuting alive directly (and, when it is about us, queue our
   * alive for gossip again), at most once per probe interval per accuser and member.
   */
  override answerStale(accuser: string, about: string): void {
    const to = this.members.get(accuser)
    if (!to || accuser === this.name || this.stopped) return
    const key = `${accuser}\u0000${about}`
    const now = this.clock.monotonic()
    if (now - (this.staleAnswered.get(key) ?? Number.NEGATIVE_INFINITY) < this.config.probeIntervalMs) return
    if (this.staleAnswered.size >= 1024) this.staleAnswered.clear()
    this.staleAnswered.set(key, now)
    if (about === this.name) {
      this.send(to.addr, [this.aliveMsg()])
      this.broadcast(this.name, this.aliveMsg())
      return
    }
    const m = this.members.get(about)
    if (m?.state === 'alive') this.send(to.addr, [{ t: MsgTag.Alive, inc: m.inc, node: m.name, addr: m.addr, meta: m.meta }])
  }

  /**
   * Lifeguard shrinks a suspicion only with independent confirmations, which normally
   * come as fast as round-robin probing happens to reach the suspect (about one per
   * period). Probing it out of turn, with probability chosen so that about 2(k + 1)
   * members do, gathers them within a period; a healthy suspect passes these probes
   * and so keeps its long timeout.
   */
  override onSuspected(name: string, k: number): void {
    if (!this.lifeguard || this.stopped) return
    const p = Math.min(1, (2 * (k + 1)) / Math.max(1, this.liveCount() - 1))
    if (this.rng.next() >= p) return
    this.clock.after(this.rng.int(Math.max(1, this.config.probeTimeoutMs)), () => {
      const m = this.members.get(name)
      if (!this.stopped && m?.state === 'suspect') this.probe(name)
    })
  }

  private probeTick(): void {
    const name = this.nextProbeTarget()
    if (name) this.probe(name)
  }

  private probe(name: string): void {
    probeMember(this, name)
  }

  // ---- ack bookkeeping used by the handlers ----

  ackReceived(seq: number): void {
    this.acks.get(seq)?.onAck()
  }

  nackReceived(seq: number): void {
    this.acks.get(seq)?.onNack()
  }

  /** Waits for an ack to `seq` for `timeoutMs`; used when probing on another's behalf. */
  awaitAck(seq: number, timeoutMs: number, onAck: () => void, onTimeout: () => void): void {
    let done = false
    const cancel = this.clock.after(timeoutMs, () => {
      if (done) return
      done = true
      this.acks.delete(seq)
      onTimeout()
    })
    this.acks.set(seq, {
      onAck: () => {
        if (done) return
        done = true
        this.acks.delete(seq)
        cancel()
        onAck()
      },
      onNack: () => {},
    })
  }

  // ---- gossip and push/pull: swim-sync.ts ----

  private gossipTick(): void {
    gossipRound(this)
  }

  protected pushPullTick(): void {
    pushPullRound(this)
  }

  /** One full-state exchange over a stream; resolves once the peer's state is merged. */
  pushPull(addr: string, join: boolean, timeoutMs = this.config.streamTimeoutMs): Promise<void> {
    return pushPull(this, addr, join, timeoutMs)
  }

  localPushPull(join: boolean): Msg {
    return { t: MsgTag.PushPull, join, from: this.name, states: this.pushStates(), user: this.delegate?.localState(join) ?? new Uint8Array(0) }
  }

  mergePushPull(m: Extract<Msg, { t: typeof MsgTag.PushPull }>): void {
    this.mergeStates(m.states)
    if (this.delegate && m.user.length > 0) this.delegate.mergeRemoteState(m.from, m.user, m.join)
  }

  /** Up to `k` distinct random members other than self that pass `ok` (memberlist kRandomNodes). */
  randomMembers(k: number, ok: (m: { name: string; state: string; sinceMs: number }) => boolean): Array<{ name: string; addr: string }> {
    const list = this.memberList
    const out: Array<{ name: string; addr: string }> = []
    const seen = new Set<string>()
    for (let i = 0; i < 3 * list.length && out.length < k; i++) {
      const name = list[this.rng.int(list.length)] as string
      if (seen.has(name)) continue
      seen.add(name)
      const m = this.members.get(name)
      if (m && ok(m)) out.push(m)
    }
    return out
  }
}
