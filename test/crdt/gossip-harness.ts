/**
 * A small in-memory gossip harness for replicated state, independent of the
 * SWIM simulator: each round every live node piggybacks its queued deltas to
 * `fanout` random peers (with seeded loss, duplication and delay, so packets
 * reorder), and some nodes run a push/pull digest exchange with a random peer,
 * exactly as the Delegate would (digest both ways, then a pull of what is
 * missing). Partitions block both. All time is a SimClock; all chance a SeededRng.
 */
import { Tag } from '../../src/crdt/codec.ts'
import type { Delta, Entry } from '../../src/crdt/dot-store.ts'
import { compareRegister, isRegisterKey } from '../../src/crdt/health-map.ts'
import type { CrdtLimits } from '../../src/crdt/limits.ts'
import { SeededRng, type Rng } from '../../src/seams/rng.ts'
import { SimClock } from '../sim/sim-clock.ts'
import { mkReplica } from './helpers.ts'
import type { TestState } from './test-state.ts'

export interface SimOptions {
  nodes: number
  seed: number
  roundMs: number
  fanout: number
  packetBudgetBytes: number
  loss: number
  duplicate: number
  /** Packets are delayed uniformly in [0, maxDelayMs]; above roundMs they reorder across rounds. */
  maxDelayMs: number
  /** Probability per node per round of starting a push/pull. */
  pushPullChance: number
  limits?: Partial<CrdtLimits>
}

export const defaultSim: SimOptions = {
  nodes: 100,
  seed: 1,
  roundMs: 200,
  fanout: 3,
  packetBudgetBytes: 1400,
  loss: 0.1,
  duplicate: 0.05,
  maxDelayMs: 500,
  pushPullChance: 0.05,
}

export interface SimNode {
  name: string
  rs: TestState
  up: boolean
}

export class GossipSim {
  readonly clock = new SimClock()
  readonly rng: Rng
  readonly nodes: SimNode[] = []
  /** Every delta minted anywhere, for oracles. */
  readonly minted: Delta[] = []
  round = 0
  bytes = { delta: 0, sync: 0 }
  /** Returns true when a and b cannot talk. */
  blocked: (a: string, b: string) => boolean = () => false

  constructor(readonly o: SimOptions) {
    this.rng = new SeededRng(o.seed)
    for (let i = 0; i < o.nodes; i++) this.add(`n${String(i).padStart(4, '0')}`)
    this.announce()
  }

  add(name: string, incarnation = 1): SimNode {
    const { rs } = mkReplica(name, this.clock, this.o.limits, this.minted, { replicaId: `${name}#${incarnation.toString(36)}` })
    const n = { name, rs, up: true }
    this.nodes.push(n)
    return n
  }

  live(): SimNode[] {
    return this.nodes.filter((n) => n.up)
  }

  /** Tells every node who is live (what membership would), which also sets retransmit counts and prunes. */
  announce(): void {
    const names = this.live().map((n) => n.name)
    for (const n of this.live()) n.rs.pruneReplicas(names)
  }

  private pick(except: SimNode): SimNode | undefined {
    const live = this.live()
    if (live.length < 2) return undefined
    for (;;) {
      const p = live[this.rng.int(live.length)] as SimNode
      if (p !== except) return p
    }
  }

  private send(from: SimNode, to: SimNode, msg: Uint8Array): void {
    if (this.blocked(from.name, to.name) || this.rng.next() < this.o.loss) return
    const copies = this.rng.next() < this.o.duplicate ? 2 : 1
    for (let c = 0; c < copies; c++)
      this.clock.after(this.rng.int(this.o.maxDelayMs + 1), () => {
        if (to.up) to.rs.delegate().notifyMsg(from.name, msg)
      })
  }

  /** One digest push/pull between a and b, both directions. */
  pushPull(a: SimNode, b: SimNode): void {
    if (this.blocked(a.name, b.name)) return
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      const digest = y.rs.ae.digest(Tag.Digest)
      this.bytes.sync += digest.byteLength
      const m = x.rs.ae.applyMessage(y.name, digest)
      if (m?.tag === Tag.Digest && (x.rs.ae.wantSync || x.rs.ae.behind(m.ctx))) {
        const ask = x.rs.ae.digest(Tag.SyncRequest)
        const reply = y.rs.delegate().handleUserRequest?.(x.name, ask) as Uint8Array
        this.bytes.sync += ask.byteLength + reply.byteLength
        x.rs.ae.applyMessage(y.name, reply)
      }
    }
  }

  step(): void {
    this.round++
    for (const n of this.live()) {
      for (let f = 0; f < this.o.fanout; f++) {
        const p = this.pick(n)
        if (!p) break
        const msgs = n.rs.delegate().getBroadcasts(3, this.o.packetBudgetBytes)
        for (const m of msgs) {
          this.bytes.delta += m.byteLength
          this.send(n, p, m)
        }
      }
      if (this.rng.next() < this.o.pushPullChance) {
        const p = this.pick(n)
        if (p) this.pushPull(n, p)
      }
    }
    this.clock.advance(this.o.roundMs)
  }

  converged(): boolean {
    const live = this.live()
    // Contexts first (cheap); whole-state digests only once those agree.
    const c0 = JSON.stringify((live[0] as SimNode).rs.state.ctx.encode())
    if (!live.every((n) => JSON.stringify(n.rs.state.ctx.encode()) === c0)) return false
    const d0 = Buffer.from((live[0] as SimNode).rs.digest())
    return live.every((n) => Buffer.from(n.rs.digest()).equals(d0))
  }

  /** Runs rounds until all live digests match; returns the rounds taken (or -1 past maxRounds). */
  runToConvergence(maxRounds: number): number {
    const start = this.round
    while (this.round - start < maxRounds) {
      if (this.converged()) return this.round - start
      this.step()
    }
    return this.converged() ? this.round - start : -1
  }
}

/**
 * The dots every final state must hold: for ordinary keys, minted by some mutation and
 * removed by none; for register keys, the greatest entry ever minted under the key.
 */
export function liveDots(deltas: Delta[]): Set<string> {
  const minted = new Set<string>()
  const dead = new Set<string>()
  const winners = new Map<string, Entry>()
  for (const d of deltas) {
    for (const [k, es] of d.store)
      for (const e of es) {
        if (!isRegisterKey(k)) minted.add(`${e.r}:${e.n}`)
        else {
          const w = winners.get(k)
          if (!w || compareRegister(e, w) > 0) winners.set(k, e)
        }
      }
    const own = (r: string, n: number) => r === d.origin && n >= d.lo && n <= d.hi
    for (const [r, max, ex] of d.ctx.encode()) {
      for (let n = 1; n <= max; n++) if (!own(r, n)) dead.add(`${r}:${n}`)
      for (let i = 0; i + 1 < ex.length; i += 2)
        for (let n = ex[i] as number; n <= (ex[i + 1] as number); n++) if (!own(r, n)) dead.add(`${r}:${n}`)
    }
  }
  for (const x of dead) minted.delete(x)
  for (const e of winners.values()) minted.add(`${e.r}:${e.n}`)
  return minted
}

export function dotsHeld(rs: TestState): Set<string> {
  const out = new Set<string>()
  for (const es of rs.state.store.values()) for (const e of es) out.add(`${e.r}:${e.n}`)
  return out
}
