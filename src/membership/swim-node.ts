/**
 * A SWIM member (Das et al. 2002) with Lifeguard (Dadgar et al. 2017), following
 * hashicorp/memberlist (memberlist.go, net.go): a synchronous state machine behind
 * the Clock, Rng and Transport seams, composed of a member table (member-table.ts),
 * a prober (prober.ts), a disseminator (disseminator.ts), the local-health score
 * (awareness.ts) and the wire (wire.ts). The node wires them together, runs their
 * loops, decodes every datagram and stream frame once through the codec (drops are
 * counted, never thrown), dispatches messages, serves push/pull and delegate
 * requests, and offers join, leave and userRequest to the facade.
 */
import type { Cancel, Clock } from '../seams/clock.ts'
import type { Logger } from '../seams/log.ts'
import type { Rng } from '../seams/rng.ts'
import type { Transport } from '../seams/transport.ts'
import type { SwimCodec } from '../codec/swim-envelope.ts'
import { MsgTag, type Msg } from '../codec/swim-messages.ts'
import { Awareness } from './awareness.ts'
import type { SwimConfig } from './config.ts'
import type { Delegate } from './delegate.ts'
import { Disseminator } from './disseminator.ts'
import { pushPullScaleMs } from './math.ts'
import { memberInfo, type MemberReader } from './member-map.ts'
import { MemberTable } from './member-table.ts'
import { Reachability } from './reachability.ts'
import { Prober } from './prober.ts'
import type { ChangeListener, MemberInfo, MemberState, Meta, SwimStats } from './types.ts'
import { Wire } from './wire.ts'

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

export class SwimNode {
  readonly name: string
  readonly addr: string
  readonly config: SwimConfig
  readonly stats: SwimStats
  private readonly clock: Clock
  private readonly rng: Rng
  private readonly delegate?: Delegate
  private readonly table: MemberTable
  private readonly awareness: Awareness
  private readonly wire: Wire
  private readonly prober: Prober
  private readonly gossip: Disseminator
  private readonly reachability: Reachability
  private timers: Cancel[] = []
  private stopped = false

  constructor(opts: SwimOptions) {
    const lifeguard = opts.lifeguard ?? true
    this.name = opts.name
    this.addr = opts.transport.localAddr
    this.config = opts.config
    this.clock = opts.clock
    this.rng = opts.rng
    this.delegate = opts.delegate
    this.stats = opts.stats ?? { bytesIn: 0, bytesOut: 0, drops: new Map() }
    const { config, clock, rng } = opts
    this.awareness = new Awareness(config.awarenessMaxMultiplier, lifeguard)
    // The table's hooks are closures over parts built just below: each part gets its
    // collaborators once, at construction, and nothing is patched in afterwards.
    this.table = new MemberTable({
      name: this.name,
      addr: this.addr,
      meta: opts.meta ?? {},
      config,
      clock,
      rng,
      lifeguard,
      log: opts.log ?? (() => {}),
      hooks: {
        broadcast: (node, m) => this.gossip.broadcast(node, m),
        adjustHealth: (delta) => this.awareness.adjust(delta),
        onNewMember: (name) => this.prober.onNewMember(name),
        answerStale: (accuser, about) => this.gossip.answerStale(accuser, about),
        onSuspected: (name, k) => this.prober.onSuspected(name, k),
        warnAccused: (name, inc) => this.gossip.warnAccused(name, inc),
      },
    })
    this.wire = new Wire(opts.transport, opts.codec, this.stats, config.packetLimitBytes, (budget) => this.gossip.takeBroadcasts(budget))
    // The prober draws its probe phase here, the node's first draw from rng: moving it
    // changes every seeded simulation.
    this.prober = new Prober({
      table: this.table,
      wire: this.wire,
      awareness: this.awareness,
      config,
      clock,
      rng,
      lifeguard,
      reached: (name, addr) => this.reachability.note(name, addr),
    })
    this.gossip = new Disseminator({ table: this.table, wire: this.wire, config, clock, delegate: opts.delegate })
    this.reachability = new Reachability((name, addr, ok, fail) => this.prober.verify(name, addr, ok, fail))
    this.delegate?.attach?.({ gossipSoon: () => this.gossip.gossipSoon() })
    const metaBytes = opts.codec.encodeMsg({ t: MsgTag.Alive, inc: 0, node: '', addr: '', meta: this.table.meta }).length
    if (metaBytes > config.metaMaxBytes) throw new Error(`node metadata too large: ${metaBytes} > ${config.metaMaxBytes} bytes`)
    opts.transport.onPacket((from, data) => this.onPacket(from, data))
    opts.transport.onRequest((from, data) => this.onRequest(from, data))
  }

  /** Begins probing and gossiping. Call once, before or after join. */
  start(): void {
    // Announce ourselves (memberlist setAlive): peers that miss the seed's relay of our
    // alive still hear it first-hand once join has told us who is there.
    this.gossip.broadcast(this.name, this.table.aliveMsg())
    const c = this.config
    this.loop(() => this.prober.nextTickMs(), () => this.prober.tick(), this.prober.firstTickMs())
    this.loop(() => c.gossipIntervalMs, () => this.gossip.round(), this.rng.int(c.gossipIntervalMs))
    if (c.pushPullIntervalMs > 0) {
      this.loop(() => pushPullScaleMs(c.pushPullIntervalMs, this.table.members.liveCount()), () => this.gossip.pushPullRound(), c.pushPullIntervalMs)
    }
    const reapEvery = Math.min(10_000, Math.max(1000, c.reapAfterMs / 4))
    this.loop(() => reapEvery, () => this.table.reap(), reapEvery)
  }

  stop(): void {
    this.stopped = true
    for (const cancel of this.timers) cancel()
    this.timers = []
    this.table.stop()
    this.prober.stop()
    this.gossip.stop()
    this.wire.stop()
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

  onChange(fn: ChangeListener): void {
    this.table.onChange(fn)
  }

  /** This node's view: itself first, then every known member. */
  list(): MemberInfo[] {
    const self = { ...this.table.selfInfo(), health: this.awareness.health }
    return [self, ...[...this.table.members.values()].map(memberInfo)]
  }

  /**
   * The other members as this node knows them, read-only (the simulator and tests look
   * here). Lookups only: random picks would draw from the node's rng and so change it.
   */
  get members(): Pick<MemberReader, 'get' | 'has' | 'values'> {
    return this.table.members
  }

  /** This node's incarnation: raised each time it refutes a claim about itself. */
  get incarnation(): number {
    return this.table.incarnation
  }

  /** Lifeguard's local health score: 0 is healthy. */
  get health(): number {
    return this.awareness.health
  }

  /** How the last push/pull peer saw this node (MemberTable.peerViewOfSelf). */
  get peerViewOfSelf(): MemberState | undefined {
    return this.table.peerViewOfSelf
  }

  /** Push/pull with each seed; resolves with how many answered. */
  async join(seeds: string[], timeoutMs: number): Promise<number> {
    const results = await Promise.allSettled(seeds.filter((s) => s !== this.addr).map((s) => this.gossip.pushPull(s, true, timeoutMs)))
    return results.filter((r) => r.status === 'fulfilled').length
  }

  /**
   * Graceful leave: tells every live member directly and queues the news for gossip,
   * so peers record `left` at once instead of suspecting; then lingers for a few
   * gossip rounds (bounded by `timeoutMs`) so retransmits go out.
   */
  async leave(timeoutMs: number): Promise<void> {
    if (this.table.leaving || this.isStopped) return
    const msg = this.table.leave()
    this.gossip.broadcast(this.name, msg)
    for (const m of this.table.members.values()) {
      if (m.state === 'alive' || m.state === 'suspect') this.wire.send(m.addr, [msg], false)
    }
    const lingerMs = Math.min(timeoutMs, this.config.gossipIntervalMs * 3)
    await new Promise<void>((resolve) => this.clock.after(lingerMs, resolve))
  }

  /** Asks `toName`'s delegate (handleUserRequest) over a stream. */
  async userRequest(toName: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const m = this.table.members.get(toName)
    if (!m) throw new Error(`unknown member ${toName}`)
    const frame = this.wire.frame({ t: MsgTag.UserRequest, from: this.name, payload })
    const reply = await this.wire.request(m.addr, frame, timeoutMs)
    const r = this.wire.readFrame(reply)
    if (!r.ok) throw new Error(`user request to ${toName}: bad reply (${r.reason})`)
    const msg = r.value.msgs[0]
    if (msg?.t === MsgTag.UserResponse) return msg.payload
    if (msg?.t === MsgTag.StreamError) throw new Error(`user request to ${toName}: ${msg.reason}`)
    throw new Error(`user request to ${toName}: unexpected reply`)
  }

  private onPacket(from: string, data: Uint8Array): void {
    if (this.isStopped) return
    this.wire.received(data.length)
    const r = this.wire.decode(data, false)
    if (!r.ok) return
    for (const reason of r.value.bad) this.wire.drop(reason)
    for (const m of r.value.msgs) this.handle(from, m)
  }

  private handle(from: string, m: Msg): void {
    switch (m.t) {
      case MsgTag.Ping:
        // A ping for another name reached a reused address: stay silent.
        if (m.target !== this.name) return this.wire.drop('misdirected')
        this.wire.send(from, [{ t: MsgTag.Ack, seq: m.seq }])
        if (!this.table.members.has(m.from) && m.from !== this.name) this.syncWithStranger(m.from, m.addr)
        return
      case MsgTag.PingReq:
        return this.prober.pingOnBehalf(from, m)
      case MsgTag.Ack:
        return this.prober.ackReceived(m.seq)
      case MsgTag.Nack:
        return this.prober.nackReceived(m.seq)
      case MsgTag.Alive:
        return this.table.applyAlive(m)
      case MsgTag.Suspect:
        return this.table.applySuspect(m)
      case MsgTag.Dead:
        return this.table.applyDead(m)
      case MsgTag.Leave:
        return this.table.applyLeave(m)
      case MsgTag.User:
        if (this.delegate) this.delegate.notifyMsg(this.nameOf(from), m.payload)
        return
      default:
        return this.wire.drop('unexpected')
    }
  }

  private readonly syncing = new Set<string>()

  /**
   * A probe from a member we never heard of means the gossip about it missed us (with
   * a small retransmit limit it can, at a few percent per join): a push/pull repairs
   * that now instead of at the next periodic exchange. One at a time per stranger. The
   * ping names its sender's address, unauthenticated without --encrypt, so the address
   * must first answer a ping of ours under that name: a forged ping must not make this
   * node open a stream to an address of the forger's choosing and push its state there.
   */
  private syncWithStranger(name: string, addr: string): void {
    if (this.syncing.has(name) || this.table.leaving || this.isStopped) return
    this.syncing.add(name)
    const done = () => this.syncing.delete(name)
    void this.reachability.ensure(name, addr).then((reached) => {
      if (!reached || this.isStopped) return done()
      void this.gossip
        .pushPull(addr, false)
        .catch(() => {})
        .finally(done)
    })
  }

  private addrIndex = new Map<string, string>()
  private addrIndexVersion = -1

  /** The member at `addr` (for the delegate's `from`), or the address if unknown. */
  private nameOf(addr: string): string {
    if (this.addrIndexVersion !== this.table.members.addrVersion) {
      this.addrIndex = new Map([...this.table.members.values()].map((m) => [m.addr, m.name]))
      this.addrIndexVersion = this.table.members.addrVersion
    }
    return this.addrIndex.get(addr) ?? addr
  }

  private async onRequest(_from: string, data: Uint8Array): Promise<Uint8Array> {
    this.wire.received(data.length)
    if (this.isStopped) throw new Error('stopped')
    const r = this.wire.decode(data, true)
    // Unauthenticated peers get nothing back: the stream is just closed.
    if (!r.ok) throw new Error(`dropped: ${r.reason}`)
    const m = r.value.msgs[0]
    if (!m) throw new Error('empty frame')
    switch (m.t) {
      case MsgTag.PushPull: {
        const claimed = m.states.find((s) => s.node === m.from)?.addr
        // Merge first: a refutation the peer's view provokes goes back in this reply.
        this.gossip.merge(m)
        // The replicated state goes only to a peer that answers at the address it claims.
        const reached = claimed !== undefined && m.from !== this.name && (await this.reachability.ensure(m.from, claimed))
        return this.wire.frame(this.gossip.localState(m.join, reached))
      }
      case MsgTag.Ping:
        if (m.target !== this.name) throw new Error('misdirected ping')
        return this.wire.frame({ t: MsgTag.Ack, seq: m.seq })
      case MsgTag.UserRequest: {
        const h = this.delegate?.handleUserRequest
        if (!h) return this.wire.frame({ t: MsgTag.StreamError, reason: 'no handler' })
        const member = this.table.members.get(m.from)
        if (!member || (member.state !== 'alive' && member.state !== 'suspect') || !(await this.reachability.ensure(m.from, member.addr))) {
          this.wire.drop('stranger')
          return this.wire.frame({ t: MsgTag.StreamError, reason: `${m.from} is not a member this node has reached; join first` })
        }
        try {
          return this.wire.frame({ t: MsgTag.UserResponse, payload: await h.call(this.delegate, m.from, m.payload) })
        } catch (e) {
          return this.wire.frame({ t: MsgTag.StreamError, reason: String((e as Error)?.message ?? e).slice(0, 200) })
        }
      }
      default:
        this.wire.drop('unexpected')
        throw new Error('unexpected stream message')
    }
  }
}
