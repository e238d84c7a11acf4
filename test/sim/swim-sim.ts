/**
 * SwimSim, a simulated SWIM cluster: N SwimNodes on one SimNetwork and SimClock, each with
 * its own forked Rng and node clock. Keeps an event log of every membership change
 * (time, observer, member, prev → state) for determinism checks and counts false
 * positives: a live, un-crashed node marked dead by anyone.
 */
import { SwimCodec } from '../../src/codec/swim-envelope.ts'
import { profile, type ProfileName, type SwimConfig } from '../../src/membership/config.ts'
import type { Disseminator } from '../../src/membership/disseminator.ts'
import type { MemberTable } from '../../src/membership/member-table.ts'
import type { Prober } from '../../src/membership/prober.ts'
import { SwimNode, type SwimOptions } from '../../src/membership/swim-node.ts'
import { SeededRng } from '../../src/seams/rng.ts'
import { SimClock } from './sim-clock.ts'
import { SimNetwork } from './sim-network.ts'

export interface SwimSimOptions {
  seed: number
  n: number
  profile?: ProfileName
  config?: Partial<SwimConfig>
  lifeguard?: boolean
  /** Keep the full event log (costly at 1,000 nodes). Default true. */
  log?: boolean
  /** Each node's wall clock is off by a uniform draw in ±wallSkewMs. Default 0. */
  wallSkewMs?: number
}

export class SwimSim {
  readonly clock = new SimClock()
  readonly rng: SeededRng
  readonly net: SimNetwork
  readonly nodes: SwimNode[] = []
  readonly events: string[] = []
  readonly crashed = new Set<string>()
  readonly leftNodes = new Set<string>()
  /** "observer>member" pairs where a node not crashed and not left was marked dead. */
  readonly falsePositives: string[] = []
  /** First time each observer saw each member dead: member -> observer -> ms. */
  readonly deadSeen = new Map<string, Map<string, number>>()
  readonly codec = new SwimCodec()

  constructor(readonly opts: SwimSimOptions) {
    this.rng = new SeededRng(opts.seed)
    this.net = new SimNetwork(this.clock, this.rng.fork('net'))
    this.cfg = profile(opts.profile ?? 'lan', opts.config)
    for (let i = 0; i < opts.n; i++) this.addNode(`n${i}`, `10.0.${i >> 8}.${i & 255}:7946`)
  }

  private readonly cfg: SwimConfig

  /** Adds a node (not started); also used to bring a name back from a new address. */
  addNode(name: string, addr: string, extra: Partial<SwimOptions> = {}): SwimNode {
    const opts = this.opts
    const node = new SwimNode({
      name,
      config: this.cfg,
      clock: this.net.nodeClock(addr, opts.wallSkewMs ? (this.rng.next() * 2 - 1) * opts.wallSkewMs : 0),
      rng: this.rng.fork(`${name}@${addr}`),
      transport: this.net.transport(addr),
      codec: this.codec,
      meta: { http: `${addr.split(':')[0]}:8080` },
      lifeguard: opts.lifeguard ?? true,
      ...extra,
    })
    node.onChange((m, prev) => {
      const t = this.clock.monotonic()
      if (opts.log !== false) this.events.push(`${t.toFixed(1)} ${name} ${m.name} ${prev ?? '-'}>${m.state}#${m.incarnation}`)
      if (m.state === 'dead') {
        if (!this.crashed.has(m.name) && !this.leftNodes.has(m.name)) this.falsePositives.push(`${name}>${m.name}@${t}`)
        let seen = this.deadSeen.get(m.name)
        if (!seen) this.deadSeen.set(m.name, (seen = new Map()))
        if (!seen.has(name)) seen.set(name, t)
      }
    })
    this.nodes.push(node)
    return node
  }

  node(i: number): SwimNode {
    return this.nodes[i] as SwimNode
  }

  /** Starts every node; each joins through node 0, spread over `spreadMs`. */
  async startAll(spreadMs = 0): Promise<void> {
    const seed = this.node(0).addr
    this.node(0).start()
    for (let i = 1; i < this.nodes.length; i++) {
      const node = this.node(i)
      this.clock.after(spreadMs > 0 ? this.rng.int(spreadMs) : 0, () => {
        node.start()
        void node.join([seed], node.config.streamTimeoutMs)
      })
    }
    await this.run(spreadMs + 1)
  }

  /** Advances simulated time by `ms`, letting stream promises settle between small steps. */
  async run(ms: number, stepMs = 20): Promise<void> {
    const end = this.clock.monotonic() + ms
    while (this.clock.monotonic() < end) {
      this.clock.runUntil(Math.min(end, this.clock.monotonic() + stepMs))
      await new Promise((r) => setImmediate(r))
    }
  }

  /** Runs until `pred` holds or `maxMs` passes; returns the elapsed simulated ms, or -1. */
  async runUntil(pred: () => boolean, maxMs: number, stepMs = 20): Promise<number> {
    const start = this.clock.monotonic()
    while (this.clock.monotonic() - start < maxMs) {
      if (pred()) return this.clock.monotonic() - start
      await this.run(stepMs, stepMs)
    }
    return pred() ? this.clock.monotonic() - start : -1
  }

  crash(i: number): void {
    const n = this.node(i)
    this.crashed.add(n.name)
    this.net.crash(n.addr)
    n.stop()
  }

  live(): SwimNode[] {
    return this.nodes.filter((n) => !this.crashed.has(n.name) && !this.leftNodes.has(n.name))
  }

  /** True when every live node sees every other live node alive. */
  converged(): boolean {
    const live = this.live()
    const names = live.map((n) => n.name)
    return live.every((n) => names.every((x) => x === n.name || n.members.get(x)?.state === 'alive'))
  }

  /** True when every live node has `name` in one of `states`. */
  allSee(name: string, states: string[]): boolean {
    return this.live().every((n) => n.name === name || states.includes(n.members.get(name)?.state ?? 'none'))
  }
}

/**
 * A node's parts, for tests that drive one protocol step by hand (a probe now, a
 * gossip round now, a suspicion raised here). SwimNode keeps them private so nothing
 * in src/ reaches past its API; this is the one place tests reach in.
 */
export function partsOf(node: SwimNode): { table: MemberTable; prober: Prober; gossip: Disseminator } {
  return node as unknown as { table: MemberTable; prober: Prober; gossip: Disseminator }
}

/** The seed for a simulation: SIM_SEED from the environment, or the given default. */
export function simSeed(dflt: number): number {
  const s = process.env.SIM_SEED
  return s ? Number(s) : dflt
}
