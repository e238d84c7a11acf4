/**
 * Member state and the rules that change it (memberlist state.go): alive, suspect,
 * dead and left with incarnation numbers; newer news overrides older by
 * `overrides` (math.ts); claims about this node are refuted by raising its
 * incarnation; suspicion runs Lifeguard's dynamic timeout; a name may come back
 * from a new address once its old holder is dead or left.
 */
import type { Clock } from '../seams/clock.ts'
import { MsgTag, type Msg, type PushState, type WireState } from '../codec/swim-messages.ts'
import type { SwimConfig } from './config.ts'
import { overrides, suspicionMinMs, type MemberState } from './math.ts'
import { Suspicion } from './suspicion.ts'
import type { Logger } from '../seams/log.ts'
import type { ChangeListener, MemberInfo, Meta } from './types.ts'

export interface Member {
  name: string
  addr: string
  meta: Meta
  inc: number
  state: MemberState
  /** Monotonic ms of the last state change: drives gossip-to-the-dead and reaping. */
  sinceMs: number
  suspicion?: Suspicion
}

type M<T> = Extract<Msg, { t: T }>

const STATES: MemberState[] = ['alive', 'suspect', 'dead', 'left']

export abstract class SwimState {
  readonly members = new Map<string, Member>()
  /** Names for O(1) random picks; kept in step with `members`. */
  protected memberList: string[] = []
  private listIndex = new Map<string, number>()
  private listeners: ChangeListener[] = []
  inc = 0
  leaving = false
  /** Bumped whenever a member is added, forgotten or changes address (for address lookups). */
  addrVersion = 0

  constructor(
    readonly name: string,
    readonly addr: string,
    public meta: Meta,
    readonly config: SwimConfig,
    readonly clock: Clock,
    readonly lifeguard: boolean,
    readonly log: Logger = () => {},
  ) {}

  abstract broadcast(node: string, m: Msg): void
  abstract adjustHealth(delta: number): void
  abstract onNewMember(name: string): void
  /** `accuser` still holds an accusation against `about` that `about` already refuted: tell it (swim.ts). */
  abstract answerStale(accuser: string, about: string): void
  /** A suspicion raised by someone else has started here (for out-of-turn confirmation probes). */
  abstract onSuspected(name: string, k: number): void

  onChange(fn: ChangeListener): void {
    this.listeners.push(fn)
  }

  // Alive or suspect members other than this node, kept in step with every change.
  private live = 0
  /** Bumped whenever the set of live (alive or suspect) members may have changed. */
  liveVersion = 0

  /** Members that count toward n: alive or suspect, this node included. */
  liveCount(): number {
    return this.live + 1
  }

  private static counts(st: MemberState): number {
    return st === 'alive' || st === 'suspect' ? 1 : 0
  }

  info(m: Member): MemberInfo {
    return { name: m.name, addr: m.addr, state: m.state, incarnation: m.inc, meta: { ...m.meta } }
  }

  selfInfo(): MemberInfo {
    return { name: this.name, addr: this.addr, state: this.leaving ? 'left' : 'alive', incarnation: this.inc, meta: { ...this.meta } }
  }

  aliveMsg(): Msg {
    return { t: MsgTag.Alive, inc: this.inc, node: this.name, addr: this.addr, meta: this.meta }
  }

  private emit(m: Member, prev?: MemberState): void {
    const info = this.info(m)
    for (const fn of this.listeners) fn(info, prev)
  }

  private setState(m: Member, state: MemberState, inc: number): void {
    const prev = m.state
    m.suspicion?.cancel()
    m.suspicion = undefined
    m.state = state
    m.inc = inc
    this.live += SwimState.counts(state) - SwimState.counts(prev)
    if (SwimState.counts(state) !== SwimState.counts(prev)) this.liveVersion++
    if (prev !== state) {
      m.sinceMs = this.clock.monotonic()
      this.emit(m, prev)
    }
  }

  /** Raises this node's incarnation past an accusation and tells everyone it is alive. */
  protected refute(accusedInc: number): void {
    this.inc = Math.max(this.inc, accusedInc) + 1
    this.broadcast(this.name, this.aliveMsg())
    this.adjustHealth(1)
  }

  applyAlive(msg: M<typeof MsgTag.Alive>): void {
    if (msg.node === this.name) {
      if (this.leaving) return
      const mine = msg.addr === this.addr && msg.inc <= this.inc
      if (!mine || msg.inc > this.inc) this.refute(msg.inc)
      return
    }
    const m = this.members.get(msg.node)
    if (!m) {
      const fresh: Member = { name: msg.node, addr: msg.addr, meta: msg.meta, inc: msg.inc, state: 'alive', sinceMs: this.clock.monotonic() }
      this.members.set(msg.node, fresh)
      this.addrVersion++
      this.live++
      this.liveVersion++
      this.listIndex.set(msg.node, this.memberList.length)
      this.memberList.push(msg.node)
      this.onNewMember(msg.node)
      this.broadcast(msg.node, msg)
      this.emit(fresh)
      return
    }
    if (m.addr !== msg.addr) {
      // Name reuse: a new address may take the name once its old holder is gone,
      // or by proving it is newer; otherwise two live nodes claim one name.
      if (m.state !== 'dead' && m.state !== 'left' && msg.inc <= m.inc) {
        this.log('warn', 'name conflict: ignoring alive from a different address', { node: msg.node, have: m.addr, got: msg.addr })
        return
      }
      m.addr = msg.addr
      this.addrVersion++
      m.meta = msg.meta
      const prev = m.state
      this.setState(m, 'alive', msg.inc)
      if (prev === 'alive') this.emit(m, prev)
      this.broadcast(msg.node, msg)
      return
    }
    if (!overrides(m.state, m.inc, 'alive', msg.inc)) return
    const metaChanged = JSON.stringify(m.meta) !== JSON.stringify(msg.meta)
    m.meta = msg.meta
    const prev = m.state
    this.setState(m, 'alive', msg.inc)
    if (prev === 'alive' && metaChanged) this.emit(m, prev)
    this.broadcast(msg.node, msg)
  }

  applySuspect(msg: M<typeof MsgTag.Suspect>): void {
    if (msg.node === this.name) {
      if (this.leaving) return
      if (msg.inc >= this.inc) this.refute(msg.inc)
      else this.answerStale(msg.from, this.name)
      return
    }
    const m = this.members.get(msg.node)
    if (!m) return
    if (msg.inc < m.inc) {
      if (m.state === 'alive') this.answerStale(msg.from, m.name)
      return
    }
    if (m.state === 'suspect' && msg.inc === m.inc && m.suspicion) {
      if (m.suspicion.confirm(msg.from)) this.broadcast(msg.node, msg)
      return
    }
    if (!overrides(m.state, m.inc, 'suspect', msg.inc)) return
    this.setState(m, 'suspect', msg.inc)
    this.broadcast(msg.node, msg)
    const n = this.liveCount()
    let k = this.config.suspicionConfirmations
    if (n - 2 < k) k = 0
    const minMs = suspicionMinMs(this.config.suspicionMult, n, this.config.probeIntervalMs)
    const maxMs = this.lifeguard ? this.config.suspicionMaxTimeoutMult * minMs : minMs
    const inc = msg.inc
    m.suspicion = new Suspicion(msg.from, this.lifeguard ? k : 0, minMs, maxMs, this.clock, () => {
      const cur = this.members.get(msg.node)
      if (cur && cur.state === 'suspect' && cur.inc === inc) {
        this.log('info', 'suspicion timed out: marking dead', { node: msg.node })
        this.applyDead({ t: MsgTag.Dead, inc, node: msg.node, from: this.name })
      }
    })
    if (msg.from !== this.name && k > 0) this.onSuspected(msg.node, k)
  }

  applyDead(msg: M<typeof MsgTag.Dead>): void {
    if (msg.node === this.name) {
      if (this.leaving) return
      if (msg.inc >= this.inc) this.refute(msg.inc)
      else this.answerStale(msg.from, this.name)
      return
    }
    const m = this.members.get(msg.node)
    if (!m) return
    if (!overrides(m.state, m.inc, 'dead', msg.inc)) {
      if (msg.inc < m.inc && m.state === 'alive') this.answerStale(msg.from, m.name)
      return
    }
    this.setState(m, 'dead', msg.inc)
    this.broadcast(msg.node, msg)
  }

  applyLeave(msg: M<typeof MsgTag.Leave>): void {
    if (msg.node === this.name) {
      if (!this.leaving && msg.inc >= this.inc) this.refute(msg.inc)
      return
    }
    const m = this.members.get(msg.node)
    if (!m || !overrides(m.state, m.inc, 'left', msg.inc)) return
    this.setState(m, 'left', msg.inc)
    this.broadcast(msg.node, msg)
  }

  pushStates(): PushState[] {
    const out: PushState[] = [{ node: this.name, addr: this.addr, inc: this.inc, state: this.leaving ? 3 : 0, meta: this.meta }]
    for (const m of this.members.values()) {
      out.push({ node: m.name, addr: m.addr, inc: m.inc, state: STATES.indexOf(m.state) as WireState, meta: m.meta })
    }
    return out
  }

  /** Merges a peer's full state. A remote `dead` becomes a local suspicion (memberlist), not a verdict. */
  /**
   * How the last full-state exchange showed this node, as its peer knew it: alive or
   * suspect means the cluster never lost it (a quick restart), dead or left means it
   * did, undefined means the peer had never heard of it. A peer merges our state before
   * it replies, so an entry that is exactly ours (same incarnation and metadata) is our
   * own echo, not knowledge; a previous run differs in incarnation or in metadata (the
   * agent puts its start time there).
   */
  peerViewOfSelf?: MemberState

  mergeStates(states: PushState[]): void {
    // Noted before anything is applied: listeners that hear of the first member learn it too.
    for (const s of states) {
      const st = STATES[s.state]
      if (s.node !== this.name || !st) continue
      const echo = st === 'alive' && s.inc <= this.inc && JSON.stringify(s.meta) === JSON.stringify(this.meta)
      if (!echo) this.peerViewOfSelf = st
    }
    for (const s of states) {
      const st = STATES[s.state]
      if (st === 'alive') this.applyAlive({ t: MsgTag.Alive, inc: s.inc, node: s.node, addr: s.addr, meta: s.meta })
      else if (st === 'left') this.applyLeave({ t: MsgTag.Leave, inc: s.inc, node: s.node })
      else if (s.node === this.name) this.applySuspect({ t: MsgTag.Suspect, inc: s.inc, node: s.node, from: 'push-pull' })
      // Unknown nodes reported dead are not worth learning about.
      else if (this.members.has(s.node)) this.applySuspect({ t: MsgTag.Suspect, inc: s.inc, node: s.node, from: 'push-pull' })
    }
  }

  /** Forgets dead and left members after `reapAfterMs`. */
  protected reap(): void {
    const now = this.clock.monotonic()
    for (const m of [...this.members.values()]) {
      if ((m.state === 'dead' || m.state === 'left') && now - m.sinceMs >= this.config.reapAfterMs) this.forget(m.name)
    }
  }

  private forget(name: string): void {
    const m = this.members.get(name)
    if (m) this.live -= SwimState.counts(m.state)
    this.liveVersion++
    this.members.delete(name)
    this.addrVersion++
    const i = this.listIndex.get(name)
    if (i === undefined) return
    const last = this.memberList.pop() as string
    if (last !== name) {
      this.memberList[i] = last
      this.listIndex.set(last, i)
    }
    this.listIndex.delete(name)
  }
}
