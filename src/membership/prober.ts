/**
 * The failure detector's probes (Das et al. 2002, with memberlist's refinements
 * and Lifeguard; memberlist state.go probe/probeNode): who to probe next (the ring
 * or shuffled round robin, probe-schedule.ts); one probe: ping; after the probe
 * timeout ask k members to ping-req with nacks and try a TCP ping; suspect at the
 * end of the period unless an ack came. Lifeguard's parts here: timeouts scaled by
 * local health, missed nacks counted against ourselves, the buddy system (a
 * suspect's probe carries the suspicion) and out-of-turn probes that confirm a
 * suspicion quickly. A probe ends early once every helper nacked and the TCP ping
 * failed: nothing left could save it. Also probes on others' behalf (ping-req).
 */
import type { Cancel, Clock } from '../seams/clock.ts'
import type { Rng } from '../seams/rng.ts'
import { MsgTag, type Msg } from '../codec/swim-messages.ts'
import type { Awareness } from './awareness.ts'
import type { SwimConfig } from './config.ts'
import type { MemberTable } from './member-table.ts'
import { msUntilNextTick, probeRound, ringTarget } from './probe-schedule.ts'
import type { Wire } from './wire.ts'

/** What the prober reads of the member table, and the one verdict it reaches there (suspect). */
export type ProbeTable = Pick<MemberTable, 'name' | 'addr' | 'members' | 'applySuspect'>

export interface ProberOptions {
  table: ProbeTable
  wire: Pick<Wire, 'send' | 'frame' | 'request' | 'readFrame'>
  awareness: Pick<Awareness, 'adjust' | 'scale' | 'health'>
  config: SwimConfig
  clock: Clock
  rng: Rng
  /** Told when `name` answered a probe at `addr` (reachability.ts). */
  reached?: (name: string, addr: string) => void
  lifeguard: boolean
}

interface AckWaiter {
  onAck: () => void
  onNack: () => void
}

export class Prober {
  private readonly table: ProbeTable
  private readonly wire: ProberOptions['wire']
  private readonly awareness: ProberOptions['awareness']
  private readonly config: SwimConfig
  private readonly clock: Clock
  private readonly rng: Rng
  private readonly lifeguard: boolean
  private seq = 1
  /** Pending probes by sequence number. */
  private readonly acks = new Map<number, AckWaiter>()
  private probeOrder: string[] = []
  private probeIndex = 0
  /** This node's fixed offset into each shared probe round (ring schedule). */
  private readonly probePhaseMs: number
  private readonly reached?: (name: string, addr: string) => void
  private ring: { version: number; names: string[] } = { version: -1, names: [] }
  private stopped = false

  constructor(o: ProberOptions) {
    this.table = o.table
    this.wire = o.wire
    this.awareness = o.awareness
    this.config = o.config
    this.clock = o.clock
    this.rng = o.rng
    this.lifeguard = o.lifeguard
    this.probePhaseMs = this.rng.int(o.config.probeIntervalMs)
    this.reached = o.reached
  }

  /** Delay before the first probe tick: the ring's next round at our phase, or a random point in the interval. */
  firstTickMs(): number {
    const c = this.config
    if (c.probeSchedule === 'ring') return msUntilNextTick(this.clock.now(), this.probePhaseMs, c.probeIntervalMs)
    return this.rng.int(c.probeIntervalMs)
  }

  /** Delay until the next probe tick, stretched by local health (whole rounds, on the ring). */
  nextTickMs(): number {
    const c = this.config
    if (c.probeSchedule === 'ring') return msUntilNextTick(this.clock.now(), this.probePhaseMs, c.probeIntervalMs, this.lifeguard ? this.awareness.health + 1 : 1)
    return this.awareness.scale(c.probeIntervalMs)
  }

  tick(): void {
    const name = this.nextTarget()
    if (name) this.probe(name)
  }

  stop(): void {
    this.stopped = true
    this.acks.clear()
  }

  /**
   * The ring slot this tick probes: the current round's while every round is ticked,
   * the slot after the last one used while Lifeguard stretches the interval over several
   * rounds. Stepping by the round number then would visit only some members whenever the
   * stretch shares a factor with N − 1: in a simulated 3 + 2 partition a prober ticking
   * every other round of a three-member ring probed the same member for 15 s and never
   * found the unreachable one.
   */
  private ringStep(): number {
    const round = probeRound(this.clock.now(), this.probePhaseMs, this.config.probeIntervalMs)
    const stretched = this.lifeguard && this.awareness.health > 0
    const step = stretched && this.lastStep !== undefined && round > this.lastStep ? this.lastStep + 1 : round
    this.lastStep = step
    return step
  }

  private lastStep: number | undefined

  private nextTarget(): string | undefined {
    if (this.config.probeSchedule === 'ring') {
      if (this.ring.version !== this.table.members.liveVersion) {
        const names = [this.table.name]
        for (const m of this.table.members.values()) if (m.state === 'alive' || m.state === 'suspect') names.push(m.name)
        this.ring = { version: this.table.members.liveVersion, names: names.sort() }
      }
      return ringTarget(this.ring.names, this.table.name, this.ringStep())
    }
    for (let tries = 0; tries <= this.probeOrder.length; tries++) {
      if (this.probeIndex >= this.probeOrder.length) {
        this.probeOrder = this.rng.shuffle(this.table.members.names())
        this.probeIndex = 0
        if (this.probeOrder.length === 0) return undefined
      }
      const name = this.probeOrder[this.probeIndex++] as string
      const m = this.table.members.get(name)
      if (m && (m.state === 'alive' || m.state === 'suspect')) return name
    }
    return undefined
  }

  /** New members enter the probe order at a random place (memberlist), not all at the end. */
  onNewMember(name: string): void {
    if (this.config.probeSchedule === 'ring') return // the ring is rebuilt from the members
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
  onSuspected(name: string, k: number): void {
    if (!this.lifeguard || this.stopped) return
    const p = Math.min(1, (2 * (k + 1)) / Math.max(1, this.table.members.liveCount() - 1))
    if (this.rng.next() >= p) return
    this.clock.after(this.rng.int(Math.max(1, this.config.probeTimeoutMs)), () => {
      const m = this.table.members.get(name)
      if (!this.stopped && m?.state === 'suspect') this.probe(name)
    })
  }

  /** One probe of `name`, concluded by an ack, or by a suspicion at the end of the period. */
  probe(name: string): void {
    const target = this.table.members.get(name)
    if (!target) return
    const seq = this.nextSeq()
    const addr = target.addr
    const inc = target.inc
    const c = this.config
    let done = false
    let indirectSent = false
    let nacks = 0
    let expectedNacks = 0
    let tcpFailed = !c.tcpFallbackPing
    const cancels: Cancel[] = []
    const finish = () => {
      done = true
      this.acks.delete(seq)
      for (const cancel of cancels) cancel()
    }
    const fail = () => {
      if (done || this.stopped) return
      finish()
      // Lifeguard: missed nacks mean *we* may be the slow one, so back off.
      this.awareness.adjust(expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1)
      const m = this.table.members.get(name)
      if (m && m.inc === inc && (m.state === 'alive' || m.state === 'suspect')) {
        this.table.applySuspect({ t: MsgTag.Suspect, inc, node: name, from: this.table.name })
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
        this.awareness.adjust(-1)
        this.reached?.(name, addr)
      },
      onNack: () => {
        nacks++
        conclusive()
      },
    })
    const ping: Msg = { t: MsgTag.Ping, seq, target: name, from: this.table.name, addr: this.table.addr }
    // Buddy system: a suspected member learns of the suspicion from its prober at once.
    const msgs: Msg[] = this.lifeguard && target.state === 'suspect' ? [{ t: MsgTag.Suspect, inc, node: name, from: this.table.name }, ping] : [ping]
    this.wire.send(addr, msgs)
    const timeoutMs = this.awareness.scale(c.probeTimeoutMs)
    const intervalMs = this.awareness.scale(c.probeIntervalMs)
    cancels.push(
      this.clock.after(timeoutMs, () => {
        if (done || this.stopped) return
        const helpers = this.table.members.randomMembers(c.indirectChecks, (m) => m.state === 'alive' && m.name !== name)
        for (const h of helpers) {
          expectedNacks++
          this.wire.send(h.addr, [{ t: MsgTag.PingReq, seq, target: name, targetAddr: addr, from: this.table.name, addr: this.table.addr, nack: true }])
        }
        indirectSent = true
        if (c.tcpFallbackPing) {
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
    const frame = this.wire.frame({ t: MsgTag.Ping, seq, target, from: this.table.name, addr: this.table.addr })
    this.wire.request(addr, frame, timeoutMs).then(
      (reply) => {
        const r = this.wire.readFrame(reply)
        if (!r.ok) return onFail()
        for (const m of r.value.msgs) if (m.t === MsgTag.Ack && m.seq === seq) return this.acks.get(seq)?.onAck()
        onFail()
      },
      () => onFail(),
    )
  }

  ackReceived(seq: number): void {
    this.acks.get(seq)?.onAck()
  }

  nackReceived(seq: number): void {
    this.acks.get(seq)?.onNack()
  }

  /** Pings `req.target` for the member at `from` (ping-req), acking or nacking back to it. */
  pingOnBehalf(from: string, req: Extract<Msg, { t: typeof MsgTag.PingReq }>): void {
    const seq = this.nextSeq()
    this.awaitAck(
      seq,
      this.config.probeTimeoutMs,
      () => this.wire.send(from, [{ t: MsgTag.Ack, seq: req.seq }]),
      () => {
        if (req.nack) this.wire.send(from, [{ t: MsgTag.Nack, seq: req.seq }])
      },
    )
    this.wire.send(req.targetAddr, [{ t: MsgTag.Ping, seq, target: req.target, from: this.table.name, addr: this.table.addr }])
  }

  /**
   * Pings `name` at `addr` once; `onAck` runs if it answers within the probe timeout.
   * A claim learned from an unauthenticated packet (a stranger's ping naming its own
   * address) is checked this way before anything bigger goes there.
   */
  verify(name: string, addr: string, onAck: () => void, onTimeout: () => void): void {
    const seq = this.nextSeq()
    this.awaitAck(seq, this.config.probeTimeoutMs, onAck, onTimeout)
    this.wire.send(addr, [{ t: MsgTag.Ping, seq, target: name, from: this.table.name, addr: this.table.addr }])
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1
    return this.seq
  }

  /** Waits for an ack to `seq` for `timeoutMs`; used when probing on another's behalf. */
  private awaitAck(seq: number, timeoutMs: number, onAck: () => void, onTimeout: () => void): void {
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
}
