/**
 * The SWIM core (Das et al. 2002) with Lifeguard (Dadgar et al. 2017), following
 * hashicorp/memberlist: a synchronous state machine behind Clock, Rng and
 * Transport. It probes members in shuffled round-robin order, asks k others to probe
 * indirectly (with nacks) when a ping goes unanswered, suspects, confirms, declares
 * dead, refutes claims about itself, and piggybacks news on every packet.
 * Message handling lives in swim-handlers.ts; state changes in swim-state.ts.
 */
import type { Clock, Cancel } from '../runtime/clock.ts'
import type { Rng } from '../runtime/rng.ts'
import type { Transport } from '../runtime/transport.ts'
import { MESSAGE_OVERHEAD_BYTES, type SwimCodec } from '../codec/swim-envelope.ts'
import { MsgTag, type Msg } from '../codec/swim-messages.ts'
import type { SwimConfig } from './config.ts'
import type { Delegate } from './delegate.ts'
import { applyHealthDelta, pushPullScaleMs, retransmitLimit, scaleByHealth } from './math.ts'
import { BroadcastQueue } from './broadcast-queue.ts'
import { SwimState } from './swim-state.ts'
import type { LogFn, Meta, SwimStats } from './types.ts'

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
  log?: LogFn
  /** Where to count bytes and drops; the facade passes one that feeds metrics. */
  stats?: SwimStats
}

interface AckWaiter {
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
  private readonly acks = new Map<number, AckWaiter>()
  private probeOrder: string[] = []
  private probeIndex = 0
  private timers: Cancel[] = []
  private stopped = false

  constructor(opts: SwimOptions) {
    super(opts.name, opts.transport.localAddr, opts.meta ?? {}, opts.config, opts.clock, opts.lifeguard ?? true, opts.log)
    this.stats = opts.stats ?? { bytesIn: 0, bytesOut: 0, drops: new Map() }
    this.transport = opts.transport
    this.codec = opts.codec
    this.delegate = opts.delegate
    this.rng = opts.rng
    const metaBytes = this.codec.encodeMsg({ t: MsgTag.Alive, inc: 0, node: '', addr: '', meta: this.meta }).length
    if (metaBytes > opts.config.metaMaxBytes) throw new Error(`node metadata too large: ${metaBytes} > ${opts.config.metaMaxBytes} bytes`)
  }

  /** Starts the probe, gossip, push/pull and reap loops. Handlers are wired by the subclass. */
  protected startLoops(): void {
    const c = this.config
    this.loop(() => this.scaled(c.probeIntervalMs), () => this.probeTick(), this.rng.int(c.probeIntervalMs))
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
  private takeBroadcasts(budget: number): Uint8Array[] {
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
    const i = this.probeIndex + this.rng.int(this.probeOrder.length - this.probeIndex + 1)
    this.probeOrder.splice(i, 0, name)
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
    this.clock.after(this.rng.int(Math.max(1, this.config.probeIntervalMs / 2)), () => {
      const m = this.members.get(name)
      if (!this.stopped && m?.state === 'suspect') this.probe(name)
    })
  }

  private probeTick(): void {
    const name = this.nextProbeTarget()
    if (name) this.probe(name)
  }

  private probe(name: string): void {
    const target = this.members.get(name)
    if (!target) return
    const seq = this.nextSeq()
    const addr = target.addr
    const inc = target.inc
    let done = false
    let indirectSent = false
    let nacks = 0
    let expectedNacks = 0
    let tcpFailed = !this.config.tcpFallbackPing
    const cancels: Cancel[] = []
    const finish = () => {
      done = true
      this.acks.delete(seq)
      for (const c of cancels) c()
    }
    const fail = () => {
      if (done || this.stopped) return
      finish()
      // Lifeguard: missed nacks mean *we* may be the slow one, so back off.
      this.adjustHealth(expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1)
      const m = this.members.get(name)
      if (m && m.inc === inc && (m.state === 'alive' || m.state === 'suspect')) {
        this.applySuspect({ t: MsgTag.Suspect, inc, node: name, from: this.name })
      }
    }
    // Every helper said it could not reach the target and the TCP ping failed too:
    // nothing more can arrive that would change the verdict, so do not wait out the period.
    const conclusive = () => {
      if (indirectSent && tcpFailed && expectedNacks > 0 && nacks >= expectedNacks) fail()
    }
    this.acks.set(seq, {
      onAck: () => {
        if (done) return
        finish()
        this.adjustHealth(-1)
      },
      onNack: () => {
        nacks++
        conclusive()
      },
    })
    const ping: Msg = { t: MsgTag.Ping, seq, target: name, from: this.name, addr: this.addr }
    // Buddy system: a suspected member learns of the suspicion from its prober at once.
    const msgs: Msg[] = this.lifeguard && target.state === 'suspect' ? [{ t: MsgTag.Suspect, inc, node: name, from: this.name }, ping] : [ping]
    this.send(addr, msgs)
    const timeoutMs = this.scaled(this.config.probeTimeoutMs)
    const intervalMs = this.scaled(this.config.probeIntervalMs)
    cancels.push(
      this.clock.after(timeoutMs, () => {
        if (done || this.stopped) return
        const helpers = this.randomMembers(this.config.indirectChecks, (m) => m.state === 'alive' && m.name !== name)
        for (const h of helpers) {
          expectedNacks++
          this.send(h.addr, [{ t: MsgTag.PingReq, seq, target: name, targetAddr: addr, from: this.name, addr: this.addr, nack: true }])
        }
        indirectSent = true
        if (this.config.tcpFallbackPing) {
          this.tcpPing(seq, name, addr, Math.max(1, intervalMs - timeoutMs), () => {
            tcpFailed = true
            conclusive()
          })
        }
      }),
    )
    cancels.push(this.clock.after(intervalMs, fail))
  }

  private tcpPing(seq: number, target: string, addr: string, timeoutMs: number, onFail: () => void): void {
    const frame = this.codec.pack([this.codec.encodeMsg({ t: MsgTag.Ping, seq, target, from: this.name, addr: this.addr })])
    this.stats.bytesOut += frame.length
    this.transport.request(addr, frame, timeoutMs).then(
      (reply) => {
        this.stats.bytesIn += reply.length
        const r = this.codec.decode(reply, true)
        if (!r.ok) {
          this.drop(r.reason)
          return onFail()
        }
        for (const m of r.value.msgs) if (m.t === MsgTag.Ack && m.seq === seq) return this.acks.get(seq)?.onAck()
        onFail()
      },
      () => onFail(),
    )
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

  // ---- gossip, push/pull, reap ----

  private gossipTick(): void {
    if (this.queue.size === 0 && !this.delegate) return
    const now = this.clock.monotonic()
    const targets = this.randomMembers(this.config.gossipNodes, (m) =>
      m.state === 'alive' || m.state === 'suspect' || now - m.sinceMs < this.config.gossipToTheDeadMs,
    )
    for (const t of targets) {
      const msgs = this.takeBroadcasts(this.config.packetLimitBytes - this.codec.envelopeOverheadBytes)
      if (msgs.length === 0) return
      for (const pkt of this.codec.packAll(msgs, this.config.packetLimitBytes)) {
        this.stats.bytesOut += pkt.length
        this.transport.sendPacket(t.addr, pkt)
      }
    }
  }

  protected pushPullTick(): void {
    const [peer] = this.randomMembers(1, (m) => m.state === 'alive')
    if (peer) void this.pushPull(peer.addr, false).catch(() => {})
    // Reconnect (Serf's reconnect loop): a member we think dead may be alive across a
    // healed partition; an exchange lets both sides see the other's claim and refute it.
    const [dead] = this.randomMembers(1, (m) => m.state === 'dead')
    if (dead) void this.pushPull(dead.addr, false).catch(() => {})
  }

  /** One full-state exchange over a stream; resolves once the peer's state is merged. */
  async pushPull(addr: string, join: boolean, timeoutMs = this.config.streamTimeoutMs): Promise<void> {
    const frame = this.codec.pack([this.codec.encodeMsg(this.localPushPull(join))])
    this.stats.bytesOut += frame.length
    const reply = await this.transport.request(addr, frame, timeoutMs)
    this.stats.bytesIn += reply.length
    const r = this.codec.decode(reply, true)
    if (!r.ok) {
      this.drop(r.reason)
      throw new Error(`push/pull with ${addr}: bad reply (${r.reason})`)
    }
    const m = r.value.msgs[0]
    if (!m || m.t !== MsgTag.PushPull) throw new Error(`push/pull with ${addr}: unexpected reply`)
    this.mergePushPull(m)
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
