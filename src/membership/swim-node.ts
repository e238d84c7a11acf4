/**
 * A SWIM member wired to its Transport: decodes every datagram and stream frame
 * once through the codec (drops are counted, never thrown), dispatches messages,
 * answers pings, probes on others' behalf (ping-req with nacks), serves push/pull
 * and delegate requests, and offers join, leave and userRequest to the facade.
 */
import { MsgTag, type Msg } from '../codec/swim-messages.ts'
import { Swim, type SwimOptions } from './swim.ts'
import type { MemberInfo } from './types.ts'

export class SwimNode extends Swim {
  constructor(opts: SwimOptions) {
    super(opts)
    this.transport.onPacket((from, data) => this.onPacket(from, data))
    this.transport.onRequest((from, data) => this.onRequest(from, data))
  }

  /** Begins probing and gossiping. Call once, before or after join. */
  start(): void {
    // Announce ourselves (memberlist setAlive): peers that miss the seed's relay of our
    // alive still hear it first-hand once join has told us who is there.
    this.broadcast(this.name, this.aliveMsg())
    this.startLoops()
  }

  /** This node's view: itself first, then every known member. */
  list(): MemberInfo[] {
    const self = { ...this.selfInfo(), health: this.health }
    return [self, ...[...this.members.values()].map((m) => this.info(m))]
  }

  /** Push/pull with each seed; resolves with how many answered. */
  async join(seeds: string[], timeoutMs: number): Promise<number> {
    const results = await Promise.allSettled(seeds.filter((s) => s !== this.addr).map((s) => this.pushPull(s, true, timeoutMs)))
    return results.filter((r) => r.status === 'fulfilled').length
  }

  /**
   * Graceful leave: tells every live member directly and queues the news for gossip,
   * so peers record `left` at once instead of suspecting; then lingers for a few
   * gossip rounds (bounded by `timeoutMs`) so retransmits go out.
   */
  async leave(timeoutMs: number): Promise<void> {
    if (this.leaving || this.isStopped) return
    this.leaving = true
    const msg: Msg = { t: MsgTag.Leave, inc: this.inc, node: this.name }
    this.broadcast(this.name, msg)
    for (const m of this.members.values()) {
      if (m.state === 'alive' || m.state === 'suspect') this.send(m.addr, [msg], false)
    }
    const lingerMs = Math.min(timeoutMs, this.config.gossipIntervalMs * 3)
    await new Promise<void>((resolve) => this.clock.after(lingerMs, resolve))
  }

  /** Asks `toName`'s delegate (handleUserRequest) over a stream. */
  async userRequest(toName: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const m = this.members.get(toName)
    if (!m) throw new Error(`unknown member ${toName}`)
    const frame = this.codec.pack([this.codec.encodeMsg({ t: MsgTag.UserRequest, from: this.name, payload })])
    this.stats.bytesOut += frame.length
    const reply = await this.transport.request(m.addr, frame, timeoutMs)
    this.stats.bytesIn += reply.length
    const r = this.codec.decode(reply, true)
    if (!r.ok) {
      this.drop(r.reason)
      throw new Error(`user request to ${toName}: bad reply (${r.reason})`)
    }
    const msg = r.value.msgs[0]
    if (msg?.t === MsgTag.UserResponse) return msg.payload
    if (msg?.t === MsgTag.StreamError) throw new Error(`user request to ${toName}: ${msg.reason}`)
    throw new Error(`user request to ${toName}: unexpected reply`)
  }

  private onPacket(from: string, data: Uint8Array): void {
    if (this.isStopped) return
    this.stats.bytesIn += data.length
    const r = this.codec.decode(data)
    if (!r.ok) return this.drop(r.reason)
    for (const reason of r.value.bad) this.drop(reason)
    for (const m of r.value.msgs) this.handle(from, m)
  }

  private handle(from: string, m: Msg): void {
    switch (m.t) {
      case MsgTag.Ping:
        // A ping for another name reached a reused address: stay silent.
        if (m.target !== this.name) return this.drop('misdirected')
        this.send(from, [{ t: MsgTag.Ack, seq: m.seq }])
        if (!this.members.has(m.from) && m.from !== this.name) this.syncWithStranger(m.from, m.addr)
        return
      case MsgTag.PingReq:
        return this.pingOnBehalf(from, m)
      case MsgTag.Ack:
        return this.ackReceived(m.seq)
      case MsgTag.Nack:
        return this.nackReceived(m.seq)
      case MsgTag.Alive:
        return this.applyAlive(m)
      case MsgTag.Suspect:
        return this.applySuspect(m)
      case MsgTag.Dead:
        return this.applyDead(m)
      case MsgTag.Leave:
        return this.applyLeave(m)
      case MsgTag.User:
        if (this.delegate) this.delegate.notifyMsg(this.nameOf(from), m.payload)
        return
      default:
        return this.drop('unexpected')
    }
  }

  private readonly syncing = new Set<string>()

  /**
   * A probe from a member we never heard of means the gossip about it missed us (with
   * a small retransmit limit it can, at a few percent per join): a push/pull repairs
   * that now instead of at the next periodic exchange. One at a time per stranger.
   */
  private syncWithStranger(name: string, addr: string): void {
    if (this.syncing.has(name) || this.leaving || this.isStopped) return
    this.syncing.add(name)
    void this.pushPull(addr, false)
      .catch(() => {})
      .finally(() => this.syncing.delete(name))
  }

  private addrIndex = new Map<string, string>()
  private addrIndexVersion = -1

  /** The member at `addr` (for the delegate's `from`), or the address if unknown. */
  private nameOf(addr: string): string {
    if (this.addrIndexVersion !== this.addrVersion) {
      this.addrIndex = new Map([...this.members.values()].map((m) => [m.addr, m.name]))
      this.addrIndexVersion = this.addrVersion
    }
    return this.addrIndex.get(addr) ?? addr
  }

  private pingOnBehalf(from: string, req: Extract<Msg, { t: typeof MsgTag.PingReq }>): void {
    const seq = this.nextSeq()
    this.awaitAck(
      seq,
      this.config.probeTimeoutMs,
      () => this.send(from, [{ t: MsgTag.Ack, seq: req.seq }]),
      () => {
        if (req.nack) this.send(from, [{ t: MsgTag.Nack, seq: req.seq }])
      },
    )
    this.send(req.targetAddr, [{ t: MsgTag.Ping, seq, target: req.target, from: this.name, addr: this.addr }])
  }

  private async onRequest(_from: string, data: Uint8Array): Promise<Uint8Array> {
    this.stats.bytesIn += data.length
    const reply = (m: Msg) => {
      const f = this.codec.pack([this.codec.encodeMsg(m)])
      this.stats.bytesOut += f.length
      return f
    }
    if (this.isStopped) throw new Error('stopped')
    const r = this.codec.decode(data, true)
    if (!r.ok) {
      this.drop(r.reason)
      // Unauthenticated peers get nothing back: the stream is just closed.
      throw new Error(`dropped: ${r.reason}`)
    }
    const m = r.value.msgs[0]
    if (!m) throw new Error('empty frame')
    switch (m.t) {
      case MsgTag.PushPull: {
        // Merge first: a refutation the peer's view provokes goes back in this reply.
        this.mergePushPull(m)
        return reply(this.localPushPull(m.join))
      }
      case MsgTag.Ping:
        if (m.target !== this.name) throw new Error('misdirected ping')
        return reply({ t: MsgTag.Ack, seq: m.seq })
      case MsgTag.UserRequest: {
        const h = this.delegate?.handleUserRequest
        if (!h) return reply({ t: MsgTag.StreamError, reason: 'no handler' })
        try {
          return reply({ t: MsgTag.UserResponse, payload: await h.call(this.delegate, m.from, m.payload) })
        } catch (e) {
          return reply({ t: MsgTag.StreamError, reason: String((e as Error)?.message ?? e).slice(0, 200) })
        }
      }
      default:
        this.drop('unexpected')
        throw new Error('unexpected stream message')
    }
  }
}
