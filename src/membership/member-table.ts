/**
 * The member table and the rules that change it (memberlist state.go): alive,
 * suspect, dead and left with incarnation numbers; newer news overrides older by
 * `overrides` (math.ts); claims about this node are refuted by raising its
 * incarnation; suspicion runs Lifeguard's dynamic timeout; a name may come back
 * from a new address once its old holder is dead or left.
 *
 * The table decides; it does not send. What follows from a change (gossip, a
 * health penalty, a probe) goes out through TableHooks, which the node wires to
 * the disseminator, the awareness score and the prober. The members themselves
 * and their indexes are kept by member-map.ts.
 */
import type { Clock } from '../seams/clock.ts'
import type { Logger } from '../seams/log.ts'
import type { Rng } from '../seams/rng.ts'
import { MsgTag, type Msg, type PushState, type WireState } from '../codec/swim-messages.ts'
import type { SwimConfig } from './config.ts'
import { overrides, suspicionMinMs, type MemberState } from './math.ts'
import { MemberMap, type Member, type MemberReader } from './member-map.ts'
import { Suspicion } from './suspicion.ts'
import type { ChangeListener, MemberInfo, Meta } from './types.ts'

/** What a change in the table sets off elsewhere; the node wires each to the part that acts. */
export interface TableHooks {
  /** News about `node` to gossip (the disseminator). */
  broadcast(node: string, m: Msg): void
  /** Lifeguard: refuting a claim about ourselves counts against our health (awareness). */
  adjustHealth(delta: number): void
  /** A member was added (the prober gives it a place in its order). */
  onNewMember(name: string): void
  /** `accuser` still holds an accusation against `about` that `about` already refuted (the disseminator tells it). */
  answerStale(accuser: string, about: string): void
  /** A suspicion raised by someone else has started here (the prober may confirm it out of turn). */
  onSuspected(name: string, k: number): void
  /**
   * A push/pull peer holds `name` suspect or dead at incarnation `inc` while this node has
   * it alive: tell `name` directly, so it refutes and the peer's stale claim is overridden.
   */
  warnAccused(name: string, inc: number): void
}

export interface MemberTableOptions {
  name: string
  addr: string
  meta: Meta
  config: SwimConfig
  clock: Clock
  rng: Rng
  lifeguard: boolean
  log: Logger
  hooks: TableHooks
}

type M<T> = Extract<Msg, { t: T }>

const STATES: MemberState[] = ['alive', 'suspect', 'dead', 'left']

export class MemberTable {
  readonly name: string
  readonly addr: string
  readonly meta: Meta
  private readonly map: MemberMap
  private inc = 0
  private isLeaving = false
  private readonly config: SwimConfig
  private readonly clock: Clock
  private readonly lifeguard: boolean
  private readonly log: Logger
  private readonly hooks: TableHooks
  private selfSeen?: MemberState

  constructor(o: MemberTableOptions) {
    this.name = o.name
    this.addr = o.addr
    this.meta = o.meta
    this.config = o.config
    this.clock = o.clock
    this.lifeguard = o.lifeguard
    this.log = o.log
    this.hooks = o.hooks
    this.map = new MemberMap(o.clock, o.rng)
  }

  /** The members other than this node, read-only. */
  get members(): MemberReader {
    return this.map
  }

  get incarnation(): number {
    return this.inc
  }

  get leaving(): boolean {
    return this.isLeaving
  }

  /** From now on this node calls itself left and no longer refutes; returns the news to spread. */
  leave(): Msg {
    this.isLeaving = true
    return { t: MsgTag.Leave, inc: this.inc, node: this.name }
  }

  /**
   * How the last full-state exchange showed this node, as its peer knew it: alive or
   * suspect means the cluster never lost it (a quick restart), dead or left means it
   * did, undefined means the peer had never heard of it. A peer merges our state before
   * it replies, so an entry that is exactly ours (same incarnation and metadata) is our
   * own echo, not knowledge; a previous run differs in incarnation or in metadata (the
   * agent puts its start time there).
   */
  get peerViewOfSelf(): MemberState | undefined {
    return this.selfSeen
  }

  onChange(fn: ChangeListener): void {
    this.map.onChange(fn)
  }

  selfInfo(): MemberInfo {
    return { name: this.name, addr: this.addr, state: this.isLeaving ? 'left' : 'alive', incarnation: this.inc, meta: { ...this.meta } }
  }

  aliveMsg(): Msg {
    return { t: MsgTag.Alive, inc: this.inc, node: this.name, addr: this.addr, meta: this.meta }
  }

  /** Raises this node's incarnation past an accusation and tells everyone it is alive. */
  private refute(accusedInc: number): void {
    this.inc = Math.max(this.inc, accusedInc) + 1
    this.hooks.broadcast(this.name, this.aliveMsg())
    this.hooks.adjustHealth(1)
  }

  applyAlive(msg: M<typeof MsgTag.Alive>): void {
    if (msg.node === this.name) {
      if (this.isLeaving) return
      const mine = msg.addr === this.addr && msg.inc <= this.inc
      if (!mine || msg.inc > this.inc) this.refute(msg.inc)
      return
    }
    const m = this.map.get(msg.node)
    if (!m) {
      const fresh: Member = { name: msg.node, addr: msg.addr, meta: msg.meta, inc: msg.inc, state: 'alive', sinceMs: this.clock.monotonic() }
      this.map.add(fresh)
      this.hooks.onNewMember(msg.node)
      this.hooks.broadcast(msg.node, msg)
      this.map.emit(fresh)
      return
    }
    if (m.addr !== msg.addr) {
      // Name reuse: a new address may take the name once its old holder is gone,
      // or by proving it is newer; otherwise two live nodes claim one name.
      if (m.state !== 'dead' && m.state !== 'left' && msg.inc <= m.inc) {
        this.log('warn', 'name conflict: ignoring alive from a different address', { node: msg.node, have: m.addr, got: msg.addr })
        return
      }
      this.map.readdress(m, msg.addr)
      m.meta = msg.meta
      const prev = m.state
      this.map.setState(m, 'alive', msg.inc)
      if (prev === 'alive') this.map.emit(m, prev)
      this.hooks.broadcast(msg.node, msg)
      return
    }
    if (!overrides(m.state, m.inc, 'alive', msg.inc)) return
    const metaChanged = JSON.stringify(m.meta) !== JSON.stringify(msg.meta)
    m.meta = msg.meta
    const prev = m.state
    this.map.setState(m, 'alive', msg.inc)
    if (prev === 'alive' && metaChanged) this.map.emit(m, prev)
    this.hooks.broadcast(msg.node, msg)
  }

  applySuspect(msg: M<typeof MsgTag.Suspect>): void {
    if (msg.node === this.name) {
      if (this.isLeaving) return
      if (msg.inc >= this.inc) this.refute(msg.inc)
      else this.hooks.answerStale(msg.from, this.name)
      return
    }
    const m = this.map.get(msg.node)
    if (!m) return
    if (msg.inc < m.inc) {
      if (m.state === 'alive') this.hooks.answerStale(msg.from, m.name)
      return
    }
    if (m.state === 'suspect' && msg.inc === m.inc && m.suspicion) {
      if (m.suspicion.confirm(msg.from)) this.hooks.broadcast(msg.node, msg)
      return
    }
    if (!overrides(m.state, m.inc, 'suspect', msg.inc)) return
    this.map.setState(m, 'suspect', msg.inc)
    this.hooks.broadcast(msg.node, msg)
    const n = this.map.liveCount()
    let k = this.config.suspicionConfirmations
    if (n - 2 < k) k = 0
    const minMs = suspicionMinMs(this.config.suspicionMult, n, this.config.probeIntervalMs)
    const maxMs = this.lifeguard ? this.config.suspicionMaxTimeoutMult * minMs : minMs
    const inc = msg.inc
    m.suspicion = new Suspicion(msg.from, this.lifeguard ? k : 0, minMs, maxMs, this.clock, () => {
      const cur = this.map.get(msg.node)
      if (cur && cur.state === 'suspect' && cur.inc === inc) {
        this.log('info', 'suspicion timed out: marking dead', { node: msg.node })
        this.applyDead({ t: MsgTag.Dead, inc, node: msg.node, from: this.name })
      }
    })
    if (msg.from !== this.name && k > 0) this.hooks.onSuspected(msg.node, k)
  }

  applyDead(msg: M<typeof MsgTag.Dead>): void {
    if (msg.node === this.name) {
      if (this.isLeaving) return
      if (msg.inc >= this.inc) this.refute(msg.inc)
      else this.hooks.answerStale(msg.from, this.name)
      return
    }
    const m = this.map.get(msg.node)
    if (!m) return
    if (!overrides(m.state, m.inc, 'dead', msg.inc)) {
      if (msg.inc < m.inc && m.state === 'alive') this.hooks.answerStale(msg.from, m.name)
      return
    }
    this.map.setState(m, 'dead', msg.inc)
    this.hooks.broadcast(msg.node, msg)
  }

  applyLeave(msg: M<typeof MsgTag.Leave>): void {
    if (msg.node === this.name) {
      if (!this.isLeaving && msg.inc >= this.inc) this.refute(msg.inc)
      return
    }
    const m = this.map.get(msg.node)
    if (!m || !overrides(m.state, m.inc, 'left', msg.inc)) return
    this.map.setState(m, 'left', msg.inc)
    this.hooks.broadcast(msg.node, msg)
  }

  /** This node's full view, itself first, for a push/pull exchange. */
  pushStates(): PushState[] {
    const out: PushState[] = [{ node: this.name, addr: this.addr, inc: this.inc, state: this.isLeaving ? 3 : 0, meta: this.meta }]
    for (const m of this.map.values()) {
      out.push({ node: m.name, addr: m.addr, inc: m.inc, state: STATES.indexOf(m.state) as WireState, meta: m.meta })
    }
    return out
  }

  /**
   * Merges a peer's full state. A remote `dead` or `suspect` is not a verdict here: about a
   * member this node holds suspect it counts as a confirmation (memberlist turns it into a
   * local suspicion), but about a member this node holds alive it only warns that member,
   * which refutes. Push/pull repairs missed gossip; it is not how failures are detected
   * (every live member is probed first-hand once per probe round), and its claims may be a
   * stale view: at the heal of a partition, each side's push/pull carried its old verdicts
   * about the other side's peers, and nodes briefly suspected reachable members of their
   * own side, which moved their targets for a moment.
   */
  mergeStates(states: PushState[]): void {
    // Noted before anything is applied: listeners that hear of the first member learn it too.
    for (const s of states) {
      const st = STATES[s.state]
      if (s.node !== this.name || !st) continue
      const echo = st === 'alive' && s.inc <= this.inc && JSON.stringify(s.meta) === JSON.stringify(this.meta)
      if (!echo) this.selfSeen = st
    }
    for (const s of states) {
      const st = STATES[s.state]
      if (st === 'alive') this.applyAlive({ t: MsgTag.Alive, inc: s.inc, node: s.node, addr: s.addr, meta: s.meta })
      else if (st === 'left') this.applyLeave({ t: MsgTag.Leave, inc: s.inc, node: s.node })
      else if (s.node === this.name) this.applySuspect({ t: MsgTag.Suspect, inc: s.inc, node: s.node, from: 'push-pull' })
      else {
        // Unknown nodes reported dead are not worth learning about.
        const m = this.map.get(s.node)
        if (!m) continue
        if (m.state === 'alive' && s.inc >= m.inc) this.hooks.warnAccused(m.name, s.inc)
        else this.applySuspect({ t: MsgTag.Suspect, inc: s.inc, node: s.node, from: 'push-pull' })
      }
    }
  }

  /** Forgets dead and left members after `reapAfterMs`. */
  reap(): void {
    const now = this.clock.monotonic()
    for (const m of [...this.map.values()]) {
      if ((m.state === 'dead' || m.state === 'left') && now - m.sinceMs >= this.config.reapAfterMs) this.map.forget(m.name)
    }
  }

  /** Stops every suspicion timer (shutdown). */
  stop(): void {
    for (const m of this.map.values()) m.suspicion?.cancel()
  }
}
