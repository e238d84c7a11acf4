/**
 * Several nodes on one simulated clock, with replicated state synced by push/pull
 * through the SWIM delegate and membership scripted by the test: every target is
 * checked by exactly one node; a dead owner's targets move to their next owners
 * under a higher term; a stale former owner is fenced out; the owner returning
 * takes its targets back.
 */
import { describe, expect, test } from 'bun:test'
import { parseTargetsText } from '../../src/config/targets-file.ts'
import type { Target } from '../../src/config/types.ts'
import { ReplicatedState } from '../../src/crdt/replicated-state.ts'
import { Registry } from '../../src/metrics/registry.ts'
import type { ClusterView } from '../../src/node/cluster-view.ts'
import { HeckNode, type NodeOptions } from '../../src/node/node.ts'
import { GossipStateStore } from '../../src/gossip/gossip-state.ts'
import type { MemberState } from '../../src/node/types.ts'
import type { Prober, ProbeOutcome } from '../../src/poller/prober.ts'
import { silentLogger } from '../../src/seams/log.ts'
import { SeededRng } from '../../src/seams/rng.ts'
import { SimClock } from '../sim/sim-clock.ts'

const SEED = Number(process.env.SIM_SEED ?? 11)

/** Membership as the test scripts it; every node sees the same states unless told otherwise. */
class ScriptedCluster {
  states = new Map<string, MemberState>()
  private fns = new Set<() => void>()
  viewFor(): ClusterView {
    return {
      members: () => [...this.states].map(([name, state]) => ({ name, addr: `${name}:7946`, state, incarnation: 1 })),
      onChange: (fn) => {
        this.fns.add(fn)
        return () => this.fns.delete(fn)
      },
    }
  }
  set(name: string, state: MemberState) {
    this.states.set(name, state)
    for (const fn of this.fns) fn()
  }
}

/** Counts checks per (node, target) and their times. */
class CountingProber implements Prober {
  log: Array<{ node: string; id: string; at: number }> = []
  constructor(private node: string, private clock: SimClock) {}
  async probe(t: Target): Promise<ProbeOutcome> {
    this.log.push({ node: this.node, id: t.id, at: this.clock.monotonic() })
    return { ok: true, latencyMs: 1, statusCode: 200 }
  }
}

/** One simulated node: replicated state, a counting prober, membership from `cluster`. */
function simNode(name: string, clock: SimClock, cluster: ScriptedCluster, targets: Target[], extra: Partial<NodeOptions> = {}) {
  const rs = new ReplicatedState({ replicaId: `${name}#1`, nodeName: name, clock })
  const prober = new CountingProber(name, clock)
  const node = new HeckNode({
    name,
    clock,
    rng: new SeededRng(`${SEED}/${name}`),
    prober,
    metrics: new Registry(),
    log: silentLogger,
    state: new GossipStateStore(rs),
    cluster: cluster.viewFor(),
    ...extra,
  })
  node.applyFile(targets)
  return { node, rs, prober }
}

function build(names: string[], targetCount: number) {
  const clock = new SimClock()
  const cluster = new ScriptedCluster()
  for (const n of names) cluster.states.set(n, 'alive')
  const targets = parseTargetsText(
    `defaults: {interval: 1s}\ntargets:\n${Array.from({ length: targetCount }, (_, i) => `  - {id: t${i}, tcp: "h:${i + 1}"}`).join('\n')}`,
    'sim.yaml',
  ).targets
  const nodes = new Map<string, { node: HeckNode; rs: ReplicatedState; prober: CountingProber; up: boolean }>()
  for (const name of names) nodes.set(name, { ...simNode(name, clock, cluster, targets), up: true })
  /** Full push/pull between every pair of reachable, running nodes. */
  const sync = (cut: Set<string> = new Set()) => {
    const live = [...nodes].filter(([n, x]) => x.up && !cut.has(n))
    for (const [a, x] of live)
      for (const [b, y] of live) if (a !== b) y.rs.delegate().mergeRemoteState(a, x.rs.delegate().localState(false), false)
  }
  const run = async (ms: number, cut?: Set<string>) => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100)
      for (let i = 0; i < 5; i++) await Promise.resolve()
      if (t % 500 === 0) sync(cut)
    }
  }
  const checks = (fromMs: number, toMs: number) => {
    const by = new Map<string, Set<string>>()
    for (const x of nodes.values())
      for (const c of x.prober.log) if (c.at >= fromMs && c.at < toMs) (by.get(c.id) ?? by.set(c.id, new Set()).get(c.id))?.add(c.node)
    return by
  }
  return { clock, cluster, nodes, run, checks, sync }
}

describe(`cluster simulation (SIM_SEED=${SEED})`, () => {
  test('exactly one checker per target; failover under a higher term; fencing; failback', async () => {
    const names = ['n1', 'n2', 'n3', 'n4', 'n5']
    const { clock, cluster, nodes, run, checks } = build(names, 100)
    await run(5000)
    let t0 = clock.monotonic()
    await run(3000)
    const steady = checks(t0, clock.monotonic())
    expect(steady.size).toBe(100)
    for (const [id, who] of steady) expect([id, [...who]]).toEqual([id, [...who].slice(0, 1)])
    // Every node agrees on who checks what, and on every status.
    const views = names.map((n) => JSON.stringify(nodes.get(n)?.node.health().map((h) => [h.id, h.status, h.owner]).sort()))
    expect(new Set(views).size).toBe(1)

    // n2 dies: its targets move to their next owners, with a higher term.
    const victim = nodes.get('n2')!
    const had = new Set(victim.node.ownershipMap().n2 ?? [])
    expect(had.size).toBeGreaterThan(5)
    const termsBefore = new Map([...had].map((id) => [id, victim.rs.health(id)?.term ?? 0]))
    victim.up = false
    await victim.node.stop()
    cluster.set('n2', 'dead')
    t0 = clock.monotonic()
    await run(3000)
    const after = checks(t0 + 1000, clock.monotonic())
    for (const id of had) {
      const who = [...(after.get(id) ?? [])]
      expect(who).toHaveLength(1)
      expect(who[0]).toBe(nodes.get('n1')?.node.owners(id).filter((o) => o !== 'n2')[0])
      expect(nodes.get('n1')?.rs.health(id)?.term).toBe((termsBefore.get(id) ?? 0) + 1)
    }

    // A stale write from the dead owner's old term loses everywhere once it arrives.
    const id = [...had][0] as string
    const current = nodes.get('n1')?.rs.health(id)
    victim.rs.observe(id, { status: 'unhealthy', since: 1, last: 1, term: termsBefore.get(id) ?? 0, owner: 'n2' })
    nodes.get('n1')?.rs.delegate().mergeRemoteState('n2', victim.rs.delegate().localState(false), false)
    expect(nodes.get('n1')?.rs.health(id)?.status).toBe(current?.status)
    expect(nodes.get('n1')?.rs.health(id)?.owner).not.toBe('n2')

    // n2 comes back (a restart: fresh node, same name): it takes its targets back, under yet higher terms.
    const rs2 = new ReplicatedState({ replicaId: 'n2#2', nodeName: 'n2', clock })
    const prober2 = new CountingProber('n2', clock)
    const node2 = new HeckNode({ name: 'n2', clock, rng: new SeededRng(`${SEED}/n2b`), prober: prober2, metrics: new Registry(), log: silentLogger, state: new GossipStateStore(rs2), cluster: cluster.viewFor() })
    nodes.set('n2', { node: node2, rs: rs2, prober: prober2, up: true })
    cluster.set('n2', 'alive')
    t0 = clock.monotonic()
    await run(4000)
    const final = checks(clock.monotonic() - 2000, clock.monotonic())
    for (const id of had) expect([id, [...(final.get(id) ?? [])]]).toEqual([id, ['n2']])
    expect(rs2.health([...had][0] as string)?.term).toBe((termsBefore.get([...had][0] as string) ?? 0) + 2)
    // While ownership moved back, how long did two nodes both check one target? Report it.
    let overlapMs = 0
    for (const id of had) {
      const times = (n: string) => nodes.get(n)!.prober.log.filter((c) => c.id === id && c.at >= t0).map((c) => c.at)
      const mine = times('n2')
      const others = names.filter((n) => n !== 'n2').flatMap(times)
      if (mine.length && others.length) overlapMs = Math.max(overlapMs, Math.max(...others) - Math.min(...mine))
    }
    console.log(`failback: longest double-checking of one target ${Math.max(0, overlapMs)} ms (sync every 500 ms, 1 s interval)`)
    expect(overlapMs).toBeLessThanOrEqual(1000)
  }, 60_000)
})

describe(`join settling (SIM_SEED=${SEED})`, () => {
  test('newcomers take their share once joins have stopped for joinSettleMs: each target moves once, nothing unchecked', async () => {
    const clock = new SimClock()
    const cluster = new ScriptedCluster()
    cluster.states.set('n1', 'alive')
    const targets = parseTargetsText(
      `defaults: {interval: 1s}\ntargets:\n${Array.from({ length: 60 }, (_, i) => `  - {id: t${i}, tcp: "h:${i + 1}"}`).join('\n')}`,
      'sim.yaml',
    ).targets
    const probers: CountingProber[] = []
    const states: ReplicatedState[] = []
    const make = (name: string, joining: boolean) => {
      const { node, rs, prober } = simNode(name, clock, cluster, targets, { joinSettleMs: 3000, joining })
      probers.push(prober)
      states.push(rs)
      return node
    }
    const run = async (ms: number) => {
      for (let t = 0; t < ms; t += 100) {
        clock.advance(100)
        for (let i = 0; i < 5; i++) await Promise.resolve()
        if (t % 500 === 0)
          for (const a of states) for (const b of states) if (a !== b) b.delegate().mergeRemoteState(a.nodeName, a.delegate().localState(false), false)
      }
    }
    const nodes = [make('n1', false)]
    await run(2000)
    for (const name of ['n2', 'n3', 'n4']) {
      cluster.set(name, 'alive') // joins one after another, 1 s apart
      nodes.push(make(name, true))
      await run(1000)
    }
    const lastJoin = clock.monotonic() - 1000
    await run(8000)
    const all = probers.flatMap((p) => p.log).sort((a, b) => a.at - b.at)
    // Until the joins have been quiet for 3 s, the seed alone checks.
    expect(new Set(all.filter((c) => c.at < lastJoin + 2900).map((c) => c.node))).toEqual(new Set(['n1']))
    // Afterwards every node has a share and each target has one checker.
    const late = all.filter((c) => c.at >= lastJoin + 5000)
    expect(new Set(late.map((c) => c.node)).size).toBe(4)
    const checkerOf = new Map<string, Set<string>>()
    for (const c of late) (checkerOf.get(c.id) ?? checkerOf.set(c.id, new Set()).get(c.id))?.add(c.node)
    expect(checkerOf.size).toBe(60)
    for (const who of checkerOf.values()) expect(who.size).toBe(1)
    // Each target changed checker at most once, and was checked every second throughout.
    for (let i = 0; i < 60; i++) {
      const seq = all.filter((c) => c.id === `t${i}`)
      let moves = 0
      for (let j = 1; j < seq.length; j++) {
        if (seq[j]!.node !== seq[j - 1]!.node) moves++
        expect(seq[j]!.at - seq[j - 1]!.at).toBeLessThanOrEqual(1300) // interval + first check of a taken-over target + steps
      }
      expect(moves).toBeLessThanOrEqual(1)
    }
    for (const n of nodes) await n.stop()
  })
})

describe(`quick restart (SIM_SEED=${SEED})`, () => {
  test('a node back before anyone saw it gone takes its targets at once: no gap while settling', async () => {
    const clock = new SimClock()
    const cluster = new ScriptedCluster()
    for (const n of ['n1', 'n2', 'n3']) cluster.states.set(n, 'alive')
    const targets = parseTargetsText(
      `defaults: {interval: 1s}\ntargets:\n${Array.from({ length: 60 }, (_, i) => `  - {id: t${i}, tcp: "h:${i + 1}"}`).join('\n')}`,
      'sim.yaml',
    ).targets
    const parts = ['n1', 'n2', 'n3'].map((n) => simNode(n, clock, cluster, targets, { joinSettleMs: 3000, joining: n !== 'n1' }))
    const run = async (ms: number) => {
      for (let t = 0; t < ms; t += 100) {
        clock.advance(100)
        for (let i = 0; i < 5; i++) await Promise.resolve()
        if (t % 500 === 0)
          for (const a of parts) for (const b of parts) if (a !== b) b.rs.delegate().mergeRemoteState(a.node.name, a.rs.delegate().localState(false), false)
      }
    }
    await run(8000)
    const n2targets = new Set(parts[1]!.node.ownershipMap().n2 ?? [])
    expect(n2targets.size).toBeGreaterThan(5)
    // n2 dies and is back 300 ms later; membership never marked it anything but alive.
    await parts[1]!.node.stop()
    await run(300)
    const view = cluster.viewFor()
    const back = simNode('n2', clock, cluster, targets, { joinSettleMs: 3000, joining: true, cluster: { ...view, knownBeforeJoin: () => true } })
    expect(back.rs.restore(parts[0]!.rs.snapshot())).toBe(true) // another replica's state: joined as a full state
    parts[1] = back
    const restartAt = clock.monotonic()
    await run(6000)
    const checks = parts.flatMap((p) => p.prober.log).filter((c) => n2targets.has(c.id) && c.at >= restartAt - 1500)
    for (const id of n2targets) {
      const times = checks.filter((c) => c.id === id).map((c) => c.at).sort((a, b) => a - b)
      for (let j = 1; j < times.length; j++) expect(times[j]! - times[j - 1]!).toBeLessThanOrEqual(2000)
      expect(times.length).toBeGreaterThan(4)
    }
    for (const p of parts) await p.node.stop()
  })
})

describe(`delete and add again (SIM_SEED=${SEED})`, () => {
  test('a target deleted after a takeover and added again is recorded by its owner, above the tombstone\'s term', async () => {
    const names = ['n1', 'n2', 'n3']
    const { cluster, nodes, run } = build(names, 30)
    await run(5000)
    const victim = nodes.get('n2')!
    const id = (victim.node.ownershipMap().n2 ?? [])[0] as string
    victim.up = false
    await victim.node.stop()
    cluster.set('n2', 'dead')
    await run(3000)
    const n1 = nodes.get('n1')!
    expect(n1.rs.health(id)?.term).toBe(2) // taken over
    const def = n1.rs.target(id)?.def
    n1.rs.removeTarget(id) // the API's DELETE: the health register keeps a tombstone of term 2
    await run(2000)
    for (const n of ['n1', 'n3']) expect(nodes.get(n)?.rs.health(id)).toBeUndefined()
    n1.rs.putTarget('api', id, def)
    await run(4000)
    for (const n of ['n1', 'n3']) {
      expect(nodes.get(n)?.rs.health(id)?.status).toBe('healthy')
      expect(nodes.get(n)?.rs.health(id)?.term).toBe(3)
    }
    for (const x of nodes.values()) if (x.up) await x.node.stop()
  })
})
