/**
 * Whole agents in one seeded process (FoundationDB's simulator, TigerBeetle's VOPR,
 * madsim): N agents built by the same assembleAgent the CLI uses, each with a
 * SimTransport on one SimNetwork, its own node clock on one SimClock, a forked Rng,
 * an in-memory data dir (survives restarts), and a prober into a SimFarm. Agents
 * join through the first one with --retry-join, as the real cluster tests do.
 * Same seed, same run: a failure names its seed (SIM_SEED reproduces it).
 */
import { assembleAgent, type Agent } from '../../src/agent/assemble.ts'
import type { AgentConfig } from '../../src/agent/config.ts'
import { createApp } from '../../src/api/app.ts'
import { parseTargetsText } from '../../src/config/targets-file.ts'
import type { Target } from '../../src/config/types.ts'
import { Database } from 'bun:sqlite'
import { HistoryStore } from '../../src/history/history.ts'
import { MemoryState } from '../../src/history/state-file.ts'
import type { Heartbeat } from '../../src/node/push-ledger.ts'
import { asHistoryPart, type HistoryPart } from '../../src/node/story.ts'
import type { ProfileName } from '../../src/membership/config.ts'
import { Registry } from '../../src/metrics/registry.ts'
import type { Cancel, Clock } from '../../src/seams/clock.ts'
import type { Prober } from '../../src/poller/prober.ts'
import { silentLogger, type Logger } from '../../src/seams/log.ts'
import { SeededRng } from '../../src/seams/rng.ts'
import { SimClock } from './sim-clock.ts'
import { SimFarm } from './sim-farm.ts'
import { SimNetwork, type NetConditions } from './sim-network.ts'

/** The API token of every simulated agent (in-process requests have no loopback address). */
export const SIM_TOKEN = 'sim-token'

export interface AgentSimOptions {
  seed: number
  agents: number
  targets: number
  /** Check interval of every target (ms). Default 1000. */
  intervalMs?: number
  /** Default `lan`, as agents run by default. */
  profile?: ProfileName
  /** How many agents (the first ones) carry the targets file. Default 3. */
  fileHolders?: number
  /** Agents 1..N-1 start at uniform times in [0, joinSpreadMs). Default 2000. */
  joinSpreadMs?: number
  net?: Partial<NetConditions>
  /** Overrides for every agent's config. */
  config?: Partial<AgentConfig>
  /** Every agent's logger; silent by default. */
  log?: Logger
  /** Wraps each agent's prober (into the SimFarm), e.g. to see what a check would send. */
  wrapProber?: (name: string, clock: Clock, farm: Prober) => Prober
  /** Give every agent a history (an in-memory SQLite database that survives its restarts), as --data-dir does. */
  history?: boolean
}

export interface SimAgent {
  name: string
  addr: string
  agent: Agent
  app: ReturnType<typeof createApp>
  metrics: Registry
  durable: MemoryState
  /** False once crashed: its timers never fire again, even if the address is reused. */
  life: { alive: boolean }
  up: boolean
  webhooks: Array<{ url: string; body: string; at: number }>
}

export class AgentSim {
  readonly clock = new SimClock()
  readonly rng: SeededRng
  readonly net: SimNetwork
  readonly farm: SimFarm
  readonly agents = new Map<string, SimAgent>()
  readonly targets: Target[]
  readonly names: string[]
  /** Everything registered through the API, by id: must never be lost. */
  readonly registered = new Set<string>()
  readonly intervalMs: number
  private generation = 0

  constructor(readonly opts: AgentSimOptions) {
    this.rng = new SeededRng(opts.seed)
    this.net = new SimNetwork(this.clock, this.rng.fork('net'))
    Object.assign(this.net.conditions, opts.net ?? {})
    this.farm = new SimFarm(() => this.clock.monotonic())
    this.intervalMs = opts.intervalMs ?? 1000
    const lines = Array.from({ length: opts.targets }, (_, i) => `  - {id: t${i}, tcp: "10.9.${i >> 8}.${i & 255}:80"}`)
    this.targets = parseTargetsText(`defaults: {interval: ${this.intervalMs}ms}\ntargets:\n${lines.join('\n')}`, 'sim.yaml').targets
    this.names = Array.from({ length: opts.agents }, (_, i) => `n${i}`)
  }

  addrOf(name: string): string {
    const i = Number(name.slice(1))
    return `10.0.${i >> 8}.${i & 255}:7946`
  }

  /** A clock for one life of an agent: after a crash its timers are dead, whatever reuses the address. */
  private lifeClock(addr: string, life: { alive: boolean }): Clock {
    const base = this.net.nodeClock(addr)
    return {
      now: () => base.now(),
      monotonic: () => base.monotonic(),
      after: (ms: number, fn: () => void): Cancel => base.after(ms, () => life.alive && fn()),
    }
  }

  /** Builds and starts one agent (a restart reuses its name, address and data dir). */
  boot(name: string, seed: string | undefined): SimAgent {
    const addr = this.addrOf(name)
    const life = { alive: true }
    const clock = this.lifeClock(addr, life)
    const transport = this.net.transport(addr)
    const metrics = new Registry()
    const durable = this.agents.get(name)?.durable ?? new MemoryState()
    // Kept across restarts, like the data dir: what a name sent stays on record.
    const webhooks: SimAgent['webhooks'] = this.agents.get(name)?.webhooks ?? []
    const agent = assembleAgent(
      {
        name,
        httpAddr: `${addr.split(':')[0]}:8080`,
        profile: this.opts.profile ?? 'lan',
        keys: [],
        join: [],
        retryJoin: seed ? [this.addrOf(seed)] : [],
        joinTimeoutMs: 10_000,
        retryIntervalMs: 5_000,
        maxConcurrentChecks: 1024,
        apiToken: SIM_TOKEN,
        ...this.opts.config,
      },
      {
        clock,
        rng: this.rng.fork(`${name}#${this.generation++}`),
        transport,
        prober: this.opts.wrapProber ? this.opts.wrapProber(name, clock, this.farm.prober(name, clock)) : this.farm.prober(name, clock),
        log: this.opts.log ?? silentLogger,
        askPeer: (m, id) => this.askPeer(name, m.name, id),
        forwardPush: (m, id, beat) => this.forwardPush(name, m.name, id, beat),
        probePeer: async (m, id) => {
          const peer = this.agents.get(m.name)
          if (!peer?.up || !this.net.canReach(this.addrOf(name), this.addrOf(m.name))) throw new Error(`unreachable at ${m.name}`)
          const res = await peer.app.request(`/v1/targets/${id}/probe`, { method: 'POST', headers: { authorization: `Bearer ${SIM_TOKEN}` } })
          if (!res.ok) throw new Error(`answered HTTP ${res.status}`)
          const b = (await res.json()) as { ok: boolean; latency_ms: number; error?: string }
          return { ok: b.ok, latencyMs: b.latency_ms, ...(b.error ? { error: b.error } : {}) }
        },
        ...(this.opts.history ? { history: new HistoryStore(this.historyDb(name), { clock }) } : {}),
        metrics,
        post: async (url, _headers, body) => {
          webhooks.push({ url, body, at: this.clock.monotonic() })
          return 200
        },
        durable,
      },
    )
    const sa: SimAgent = { name, addr, agent, app: createApp(agent.api(() => {})), metrics, durable, life, up: true, webhooks }
    this.agents.set(name, sa)
    void agent.start().then(async () => {
      await agent.joined
      if (life.alive && this.names.indexOf(name) < (this.opts.fileHolders ?? 3)) agent.applyFile({ targets: this.targets, webhooks: [] })
    })
    return sa
  }

  private readonly dbs = new Map<string, Database>()

  /** An agent's history database: in memory, kept across its restarts. */
  private historyDb(name: string): Database {
    let db = this.dbs.get(name)
    if (!db) this.dbs.set(name, (db = new Database(':memory:')))
    return db
  }

  /** A member's part of a target's story, over the simulated network: nothing from a crashed or cut-off agent. */
  private async askPeer(from: string, to: string, id: string): Promise<HistoryPart> {
    const peer = this.agents.get(to)
    if (!peer?.up || !this.net.canReach(this.addrOf(from), this.addrOf(to))) throw new Error(`unreachable at ${to}`)
    const res = await peer.app.request(`/v1/targets/${id}/part`, { headers: { authorization: `Bearer ${SIM_TOKEN}` } })
    if (!res.ok) throw new Error(`answered HTTP ${res.status}`)
    return asHistoryPart(await res.json(), to)
  }

  /** A push heartbeat handed to another member, over the simulated network (runtime/push-forward.ts in real life). */
  private async forwardPush(from: string, to: string, id: string, beat: Heartbeat): Promise<void> {
    const peer = this.agents.get(to)
    if (!peer?.up || !this.net.canReach(this.addrOf(from), this.addrOf(to))) throw new Error(`unreachable at ${to}`)
    const q = new URLSearchParams({ forwarded: '1', at: String(beat.at), status: beat.ok ? 'ok' : 'fail', ...(beat.msg ? { msg: beat.msg } : {}) })
    const res = await peer.app.request(`/v1/push/${id}?${q}`, { method: 'POST', headers: { authorization: `Bearer ${SIM_TOKEN}` } })
    if (!res.ok) throw new Error(`answered HTTP ${res.status}`)
  }

  /** Starts n0, then the others at random times within joinSpreadMs, each joining through n0. */
  async start(): Promise<void> {
    this.boot('n0', undefined)
    const spread = this.opts.joinSpreadMs ?? 2000
    for (const name of this.names.slice(1)) this.clock.after(this.rng.int(spread), () => this.boot(name, 'n0'))
    await this.run(spread + 1)
  }

  /** Advances simulated time by `ms`, letting promises settle between small steps. */
  async run(ms: number, stepMs = 10): Promise<void> {
    const end = this.clock.monotonic() + ms
    while (this.clock.monotonic() < end) {
      this.clock.runUntil(Math.min(end, this.clock.monotonic() + stepMs))
      await new Promise((r) => setImmediate(r))
    }
  }

  /** Runs until `pred` holds or `maxMs` passes; returns the simulated ms it took, or -1. */
  async runUntil(pred: () => boolean, maxMs: number, stepMs = 50): Promise<number> {
    const start = this.clock.monotonic()
    while (this.clock.monotonic() - start < maxMs) {
      if (pred()) return this.clock.monotonic() - start
      await this.run(stepMs)
    }
    return pred() ? this.clock.monotonic() - start : -1
  }

  live(): SimAgent[] {
    return [...this.agents.values()].filter((a) => a.up)
  }

  get(name: string): SimAgent {
    const a = this.agents.get(name)
    if (!a) throw new Error(`no agent ${name}`)
    return a
  }

  /** kill -9: no leave, no timers, no packets. Its data dir stays. */
  crash(name: string): void {
    const a = this.get(name)
    a.up = false
    a.life.alive = false
    this.net.crash(a.addr)
  }

  /** Starts a crashed agent again under its name, address and data dir, joining through `seed`. */
  restart(name: string, seed = this.live().find((a) => a.name !== name)?.name): SimAgent {
    return this.boot(name, seed)
  }

  /** Registers a target through `name`'s HTTP API, as `POST /v1/targets` does. */
  async register(name: string, id: string): Promise<number> {
    const res = await this.get(name).app.request('/v1/targets', {
      method: 'POST',
      body: JSON.stringify({ id, tcp: '10.8.0.1:80', interval: `${this.intervalMs}ms` }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SIM_TOKEN}` },
    })
    if (res.status === 201) this.registered.add(id)
    return res.status
  }

  /** True when every live agent sees every other live agent alive and every crashed one gone. */
  membershipSettled(): boolean {
    const live = this.live()
    const up = new Set(live.map((a) => a.name))
    return live.every((a) => {
      const ms = a.agent.node.members()
      return [...this.agents.keys()].every((n) => {
        const st = ms.find((m) => m.name === n)?.state
        return up.has(n) ? st === 'alive' : st === undefined || st === 'dead' || st === 'left'
      })
    })
  }

  /** The ids every live agent should hold: the file's and the API's. */
  expectedIds(): Set<string> {
    return new Set([...this.targets.map((t) => t.id), ...this.registered])
  }

  /** One line per agent that disagrees with the first live one about targets, statuses or checkers. */
  disagreements(): string[] {
    const views = this.live().map((a) => ({
      name: a.name,
      view: a.agent.node
        .health()
        .map((h) => `${h.id}=${h.status}@${h.owner}`)
        .sort()
        .join(','),
    }))
    const first = views[0]
    if (!first) return []
    return views.filter((v) => v.view !== first.view).map((v) => `${v.name} differs from ${first.name}`)
  }

  /** Targets some live agent lacks (a lost registration). */
  missing(): string[] {
    const want = this.expectedIds()
    const out: string[] = []
    for (const a of this.live()) {
      const have = new Set(a.agent.node.state.targets().map((t) => t.id))
      for (const id of want) if (!have.has(id)) out.push(`${a.name} lacks ${id}`)
    }
    return out
  }

  /** Targets not checked by exactly one live agent in [fromMs, toMs). */
  notExactlyOne(fromMs: number, toMs: number): string[] {
    const up = new Set(this.live().map((a) => a.name))
    const out: string[] = []
    const by = this.farm.checkers(fromMs, toMs)
    for (const id of this.expectedIds()) {
      const who = [...(by.get(id) ?? [])]
      if (who.length !== 1 || !up.has(who[0] as string)) out.push(`${id}: ${who.join('+') || 'nobody'}`)
    }
    return out
  }

  /** The longest gap between checks of any expected target in [fromMs, toMs), with its target. */
  worstGap(fromMs: number, toMs: number): { id: string; ms: number } {
    let worst = { id: '', ms: 0 }
    for (const [id, ms] of this.farm.gaps(this.expectedIds(), fromMs, toMs)) if (ms > worst.ms) worst = { id, ms }
    return worst
  }

  now(): number {
    return this.clock.monotonic()
  }
}
