/**
 * Dissemination (SWIM's infection-style gossip; memberlist broadcast.go, the
 * gossip and pushPull loops of state.go): news about members is queued once and
 * piggybacked on every packet until sent mult × ⌈log10(n + 1)⌉ times, ahead of
 * the delegate's payloads. Every gossip interval, pending news goes to a few
 * random members (recently dead ones included, so they can learn of their death
 * and refute); urgent news gets an extra round at once. Every push/pull interval,
 * a full-state exchange over TCP with one live member, and one attempt at a member
 * thought dead (Serf's reconnect), which is how a healed partition finds itself.
 */
import type { Clock } from '../seams/clock.ts'
import { MESSAGE_OVERHEAD_BYTES } from '../codec/swim-envelope.ts'
import { MsgTag, type Msg } from '../codec/swim-messages.ts'
import { BroadcastQueue } from './broadcast-queue.ts'
import type { SwimConfig } from './config.ts'
import type { Delegate } from './delegate.ts'
import { retransmitLimit } from './math.ts'
import type { MemberTable } from './member-table.ts'
import type { Wire } from './wire.ts'

/** What dissemination reads of the member table, and the states it merges from push/pull. */
export type GossipTable = Pick<MemberTable, 'name' | 'members' | 'aliveMsg' | 'pushStates' | 'mergeStates'>

export interface DisseminatorOptions {
  table: GossipTable
  wire: Pick<Wire, 'codec' | 'send' | 'sendEncoded' | 'frame' | 'request' | 'readFrame'>
  config: SwimConfig
  clock: Clock
  delegate?: Delegate
}

// A delegate payload is wrapped as [tag, bytes]: array + tag + byte-string header.
const USER_MSG_OVERHEAD = 6

/** A packet with less than this left unused counts as full (a backlog is waiting). */
const FULL_SLACK_BYTES = 300

export class Disseminator {
  private readonly queue = new BroadcastQueue()
  private readonly table: GossipTable
  private readonly wire: DisseminatorOptions['wire']
  private readonly config: SwimConfig
  private readonly clock: Clock
  private readonly delegate?: Delegate
  private urgentPending = false
  private lastUrgentAt = Number.NEGATIVE_INFINITY
  private staleAnswered = new Map<string, number>()
  private stopped = false

  constructor(o: DisseminatorOptions) {
    this.table = o.table
    this.wire = o.wire
    this.config = o.config
    this.clock = o.clock
    this.delegate = o.delegate
  }

  stop(): void {
    this.stopped = true
    this.queue.clear()
  }

  /** Queues news about `node`; a change of state, or our own alive, also asks for an early round. */
  broadcast(node: string, m: Msg): void {
    this.queue.queue(node, this.wire.codec.encodeMsg(m))
    if (m.t === MsgTag.Suspect || m.t === MsgTag.Dead || m.t === MsgTag.Leave || (m.t === MsgTag.Alive && node === this.table.name)) this.gossipSoon()
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
      if (!this.stopped) this.round()
    })
  }

  /** Own broadcasts first, then the delegate's payloads, within `budget` bytes. */
  takeBroadcasts(budget: number): Uint8Array[] {
    if (budget <= MESSAGE_OVERHEAD_BYTES) return []
    const limit = retransmitLimit(this.config.retransmitMult, this.table.members.liveCount())
    const out = this.queue.take(MESSAGE_OVERHEAD_BYTES, budget, limit)
    let used = 0
    for (const m of out) used += m.length + MESSAGE_OVERHEAD_BYTES
    const rest = budget - used
    if (this.delegate && rest > USER_MSG_OVERHEAD + MESSAGE_OVERHEAD_BYTES) {
      for (const p of this.delegate.getBroadcasts(USER_MSG_OVERHEAD + MESSAGE_OVERHEAD_BYTES, rest)) {
        out.push(this.wire.codec.encodeMsg({ t: MsgTag.User, payload: p }))
      }
    }
    return out
  }

  /** One gossip round: pending news to gossipNodes random members, more while a backlog fills packets. */
  round(): void {
    if (this.queue.size === 0 && !this.delegate) return
    const now = this.clock.monotonic()
    const c = this.config
    const extra = Math.max(1, c.gossipPacketsPerNode)
    const targets = this.table.members.randomMembers(c.gossipNodes * extra, (m) => m.state === 'alive' || m.state === 'suspect' || now - m.sinceMs < c.gossipToTheDeadMs)
    const budget = c.packetLimitBytes - this.wire.codec.envelopeOverheadBytes
    for (const [i, target] of targets.entries()) {
      const msgs = this.takeBroadcasts(budget)
      if (msgs.length === 0) return
      let used = 0
      for (const m of msgs) used += m.length + MESSAGE_OVERHEAD_BYTES
      this.wire.sendEncoded(target.addr, msgs)
      // memberlist's round is one packet to each of gossipNodes members. Beyond those, only
      // a backlog (a packet that came out nearly full) earns more members this round.
      if (i + 1 >= c.gossipNodes && used < budget - FULL_SLACK_BYTES) return
    }
  }

  /**
   * An accusation against `about` older than its known incarnation reached us: its
   * accuser missed the refutation, which gossip spreads only mult × log10(n) times and
   * so, now and then, not to everyone. memberlist drops such a claim, and the accuser
   * waits for a push/pull (30 s on lan) while it suspects, then buries, a live node. We
   * send the accuser the refuting alive directly (and, when it is about us, queue our
   * alive for gossip again), at most once per probe interval per accuser and member.
   */
  answerStale(accuser: string, about: string): void {
    const to = this.table.members.get(accuser)
    if (!to || accuser === this.table.name || this.stopped) return
    const key = `${accuser}\u0000${about}`
    const now = this.clock.monotonic()
    if (now - (this.staleAnswered.get(key) ?? Number.NEGATIVE_INFINITY) < this.config.probeIntervalMs) return
    if (this.staleAnswered.size >= 1024) this.staleAnswered.clear()
    this.staleAnswered.set(key, now)
    if (about === this.table.name) {
      this.wire.send(to.addr, [this.table.aliveMsg()])
      this.broadcast(this.table.name, this.table.aliveMsg())
      return
    }
    const m = this.table.members.get(about)
    if (m?.state === 'alive') this.wire.send(to.addr, [{ t: MsgTag.Alive, inc: m.inc, node: m.name, addr: m.addr, meta: m.meta }])
  }

  /**
   * A push/pull peer still holds `name` suspect or dead at incarnation `inc`, while this
   * node has it alive (member-table.ts mergeStates): the accusation goes to `name` itself,
   * which refutes with a higher incarnation that overrides the stale claim everywhere.
   * At most once per probe interval per member.
   */
  warnAccused(name: string, inc: number): void {
    const m = this.table.members.get(name)
    if (!m || this.stopped) return
    const key = `\u0000warn\u0000${name}`
    const now = this.clock.monotonic()
    if (now - (this.staleAnswered.get(key) ?? Number.NEGATIVE_INFINITY) < this.config.probeIntervalMs) return
    if (this.staleAnswered.size >= 1024) this.staleAnswered.clear()
    this.staleAnswered.set(key, now)
    this.wire.send(m.addr, [{ t: MsgTag.Suspect, inc, node: name, from: this.table.name }])
  }

  /** The periodic exchange: one live member, and one thought dead. */
  pushPullRound(): void {
    const [peer] = this.table.members.randomMembers(1, (m) => m.state === 'alive')
    if (peer) void this.pushPull(peer.addr, false).catch(() => {})
    // A member we think dead may be alive across a healed partition; an exchange lets
    // both sides see the other's claim about them and refute it.
    const [dead] = this.table.members.randomMembers(1, (m) => m.state === 'dead')
    if (dead) void this.pushPull(dead.addr, false).catch(() => {})
  }

  /** One full-state exchange over a stream; resolves once the peer's state is merged. */
  async pushPull(addr: string, join: boolean, timeoutMs = this.config.streamTimeoutMs): Promise<void> {
    const frame = this.wire.frame(this.localState(join))
    const reply = await this.wire.request(addr, frame, timeoutMs)
    const r = this.wire.readFrame(reply)
    if (!r.ok) throw new Error(`push/pull with ${addr}: bad reply (${r.reason})`)
    const m = r.value.msgs[0]
    if (!m || m.t !== MsgTag.PushPull) throw new Error(`push/pull with ${addr}: unexpected reply`)
    this.merge(m)
  }

  /** This node's side of a push/pull; without `withState` the delegate's state stays out (a peer not yet reached). */
  localState(join: boolean, withState = true): Msg {
    const user = withState ? (this.delegate?.localState(join) ?? new Uint8Array(0)) : new Uint8Array(0)
    return { t: MsgTag.PushPull, join, from: this.table.name, states: this.table.pushStates(), user }
  }

  /** The peer's side of a push/pull, merged into the table and handed to the delegate. */
  merge(m: Extract<Msg, { t: typeof MsgTag.PushPull }>): void {
    this.table.mergeStates(m.states)
    if (this.delegate && m.user.length > 0) this.delegate.mergeRemoteState(m.from, m.user, m.join)
  }
}
