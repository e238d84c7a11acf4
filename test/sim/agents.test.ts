/**
 * Whole agents in the simulator (agent-sim.ts): SWIM, the replicated state,
 * ownership, the poller and the API of every agent, on one seeded network and
 * clock. Each scenario asserts the system's invariants:
 * - once membership has settled, every target is checked by exactly one live agent;
 * - no target goes unchecked longer than failure detection plus one interval;
 * - no registration is lost;
 * - after quiescence every agent gives the same answer.
 * A failure prints its seed; SIM_SEED=N reproduces it, SIM_SEEDS=K runs K seeds of
 * every scenario (a soak).
 */
import { describe, expect, test } from 'bun:test'
import type { TargetDetail } from '../../src/node/types.ts'
import { AgentSim, SIM_TOKEN, type AgentSimOptions } from './agent-sim.ts'

const BASE_SEED = Number(process.env.SIM_SEED ?? 7)
const SEEDS = Array.from({ length: Number(process.env.SIM_SEEDS ?? 1) }, (_, i) => BASE_SEED + i)
/** Slack (ms) for a check to come due and finish: scheduling grid, probe latency, simulation step. */
const SLACK_MS = 300

/** Collects invariant breaks, so a failure shows all of them and the seed at once. */
class Findings {
  readonly list: string[] = []
  constructor(readonly seed: number) {}
  check(what: string, bad: string[] | boolean): void {
    if (bad === true || (Array.isArray(bad) && bad.length === 0)) return
    this.list.push(`${what}: ${bad === false ? 'no' : bad.slice(0, 5).join('; ') + (bad.length > 5 ? ` (+${bad.length - 5})` : '')}`)
  }
  done(): void {
    expect({ seed: this.seed, findings: this.list }).toEqual({ seed: this.seed, findings: [] })
  }
}

async function settledSim(o: AgentSimOptions, f: Findings): Promise<AgentSim> {
  const sim = new AgentSim(o)
  await sim.start()
  const ms = await sim.runUntil(() => sim.membershipSettled() && sim.missing().length === 0, 30_000)
  f.check('membership settled and every agent holds the registry within 30 s', ms >= 0)
  // Newcomers take their share after joinSettleMs without a join (3 s); then one more interval.
  await sim.run(3000 + sim.intervalMs + SLACK_MS)
  return sim
}

/** Exactly one live checker per target over `ms` from now, with no gap above one interval. */
async function steady(sim: AgentSim, f: Findings, label: string, ms = 3000): Promise<void> {
  const from = sim.now()
  await sim.run(ms)
  f.check(`${label}: exactly one live checker per target`, sim.notExactlyOne(from, sim.now()))
  const gap = sim.worstGap(from, sim.now())
  f.check(`${label}: no target unchecked longer than one interval`, gap.ms <= sim.intervalMs + SLACK_MS || [`${gap.id} ${gap.ms.toFixed(0)} ms`])
}

async function quiesce(sim: AgentSim, f: Findings, label: string, maxMs = 60_000): Promise<void> {
  const ms = await sim.runUntil(() => sim.membershipSettled() && sim.disagreements().length === 0, maxMs, 500)
  f.check(`${label}: every agent agrees within ${maxMs / 1000} s`, ms >= 0 || sim.disagreements())
  f.check(`${label}: no registration lost`, sim.missing())
}

/** The live agent that checks the most targets. */
function busiest(sim: AgentSim): string {
  const map = sim.live()[0]!.agent.node.ownershipMap()
  return Object.entries(map).sort((a, b) => b[1].length - a[1].length)[0]![0]
}

/** When every live agent first saw `name` gone, or -1. */
async function untilAllSeeGone(sim: AgentSim, name: string, maxMs = 30_000): Promise<number> {
  return sim.runUntil(
    () => sim.live().every((a) => ['dead', 'left'].includes(a.agent.node.members().find((m) => m.name === name)?.state ?? 'dead')),
    maxMs,
    20,
  )
}

describe.each(SEEDS)('whole agents in the simulator (SIM_SEED=%d)', (seed) => {
  test('50 agents × 2,000 targets: cold start, API registrations, the busiest owner crashes', async () => {
    const f = new Findings(seed)
    const t0 = performance.now()
    const sim = await settledSim({ seed, agents: 50, targets: 2000 }, f)
    await steady(sim, f, 'after the cold start')
    for (let i = 0; i < 20; i++) {
      const via = sim.live()[sim.rng.int(sim.live().length)]!.name
      f.check(`POST /v1/targets api-${i} through ${via} answers 201`, (await sim.register(via, `api-${i}`)) === 201)
      await sim.run(sim.rng.int(200))
    }
    // During the cold start's repair backlog a registration takes seconds to reach everyone
    // (docs/ARCHITECTURE.md "What the simulator found"); once it has, its owner checks it.
    const spread = await sim.runUntil(() => sim.missing().length === 0, 30_000)
    f.check('every registration reaches every agent within 30 s', spread >= 0 || sim.missing())
    await sim.run(sim.intervalMs + SLACK_MS)
    await steady(sim, f, 'after the registrations')

    const victim = busiest(sim)
    const crashAt = sim.now()
    sim.crash(victim)
    const detected = await untilAllSeeGone(sim, victim)
    f.check(`${victim}'s crash seen by every survivor within 30 s`, detected >= 0)
    await sim.run(sim.intervalMs + SLACK_MS)
    const gap = sim.worstGap(crashAt - sim.intervalMs, sim.now())
    f.check(
      `no gap above detection (${detected.toFixed(0)} ms) + one interval`,
      gap.ms <= detected + sim.intervalMs + SLACK_MS || [`${gap.id} ${gap.ms.toFixed(0)} ms`],
    )
    await steady(sim, f, 'after the crash')
    await quiesce(sim, f, 'after the crash')
    console.log(`seed ${seed}: 50 × 2,000 ran ${(sim.now() / 1000).toFixed(1)} s simulated in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${victim} seen dead by all after ${detected.toFixed(0)} ms; ${sim.farm.checks} checks`)
    f.done()
  }, 120_000)

  test('restart with the same name and data dir, before and after it was seen dead', async () => {
    const f = new Findings(seed)
    const sim = await settledSim({ seed, agents: 8, targets: 300 }, f)
    await sim.register('n3', 'api-restart')
    await sim.run(500)
    // Back at once: nobody saw it gone, so it is still an owner and takes its targets at once.
    const quick = busiest(sim)
    let at = sim.now()
    sim.crash(quick)
    await sim.run(200)
    sim.restart(quick)
    await sim.run(5000)
    let gap = sim.worstGap(at - sim.intervalMs, sim.now())
    f.check(`quick restart of ${quick}: no gap above detection + one interval`, gap.ms <= 5000 || [`${gap.id} ${gap.ms.toFixed(0)} ms`])
    await quiesce(sim, f, 'after the quick restart')
    await sim.run(3000 + SLACK_MS)
    await steady(sim, f, 'after the quick restart')
    // Back after everyone saw it dead: a newcomer again, it takes its share after the settling.
    const slow = busiest(sim)
    at = sim.now()
    sim.crash(slow)
    const detected = await untilAllSeeGone(sim, slow)
    f.check(`${slow} seen dead by all`, detected >= 0)
    sim.restart(slow)
    await sim.run(sim.intervalMs)
    gap = sim.worstGap(at - sim.intervalMs, sim.now())
    f.check(`slow restart of ${slow}: no gap above detection + one interval`, gap.ms <= detected + sim.intervalMs + SLACK_MS || [`${gap.id} ${gap.ms.toFixed(0)} ms`])
    await quiesce(sim, f, 'after the slow restart')
    await sim.run(3000 + sim.intervalMs + SLACK_MS)
    await steady(sim, f, 'after the slow restart')
    f.done()
  }, 120_000)

  test('a 3 + 2 partition: each side keeps every target checked; after the heal, one checker each and agreement', async () => {
    const f = new Findings(seed)
    const sim = await settledSim({ seed, agents: 5, targets: 300 }, f)
    const a = ['n0', 'n1', 'n2']
    const b = ['n3', 'n4']
    const side = (n: string) => (a.includes(n) ? 'a' : 'b')
    const ownSide: string[] = []
    let healed = false
    for (const x of sim.live())
      x.agent.node.bus.subscribe((e) => {
        if (healed && e.type === 'member' && side(e.name) === side(x.name) && e.name !== x.name && e.state !== 'alive') ownSide.push(`${x.name} saw ${e.name} ${e.state}`)
      })
    const cutAt = sim.now()
    sim.net.partition(a.map((n) => sim.addrOf(n)), b.map((n) => sim.addrOf(n)))
    // Each side declares the other dead and takes its targets over: checked twice meanwhile (AP).
    const split = await sim.runUntil(
      () => a.every((x) => b.every((y) => sim.get(x).agent.node.members().find((m) => m.name === y)?.state === 'dead')) &&
        b.every((y) => a.every((x) => sim.get(y).agent.node.members().find((m) => m.name === x)?.state === 'dead')),
      30_000,
      20,
    )
    f.check('each side sees the other dead within 30 s', split >= 0)
    await sim.run(sim.intervalMs + SLACK_MS)
    const from = sim.now()
    await sim.run(5000)
    for (const side of [a, b]) {
      const by = sim.farm.checkers(from, sim.now())
      const unchecked = [...sim.expectedIds()].filter((id) => ![...(by.get(id) ?? [])].some((n) => side.includes(n)))
      f.check(`side ${side.join('+')} checks every target during the cut`, unchecked)
    }
    const gap = sim.worstGap(cutAt - sim.intervalMs, sim.now())
    f.check('no gap above detection + one interval across the cut', gap.ms <= split + sim.intervalMs + SLACK_MS || [`${gap.id} ${gap.ms.toFixed(0)} ms`])
    healed = true
    sim.net.heal()
    await quiesce(sim, f, 'after the heal')
    // Targets move whenever a member is suspected: at the heal nobody may suspect its own side.
    f.check('nobody suspects a member of its own side at the heal', ownSide)
    await sim.run(3000 + sim.intervalMs + SLACK_MS)
    await steady(sim, f, 'after the heal')
    f.done()
  }, 120_000)

  test('10% packet loss: the invariants hold', async () => {
    const f = new Findings(seed)
    const sim = await settledSim({ seed, agents: 10, targets: 500, net: { loss: 0.1 } }, f)
    await steady(sim, f, 'under 10% loss', 10_000)
    const victim = busiest(sim)
    const at = sim.now()
    sim.crash(victim)
    const detected = await untilAllSeeGone(sim, victim)
    f.check(`${victim}'s crash seen by every survivor under loss`, detected >= 0)
    await sim.run(sim.intervalMs + SLACK_MS)
    const gap = sim.worstGap(at - sim.intervalMs, sim.now())
    f.check('no gap above detection + one interval under loss', gap.ms <= detected + sim.intervalMs + SLACK_MS || [`${gap.id} ${gap.ms.toFixed(0)} ms`])
    await quiesce(sim, f, 'under loss')
    f.done()
  }, 120_000)

  test('any node tells a target\'s whole story: transitions and uptime across an owner\'s crash and return, recent results from the checker', async () => {
    const f = new Findings(seed)
    const sim = await settledSim({ seed, agents: 4, targets: 20, history: true }, f)
    const ask = async (via: string, id: string) =>
      ((await (await sim.get(via).app.request(`/v1/targets/${id}`, { headers: { authorization: `Bearer ${SIM_TOKEN}` } })).json()) as { target: TargetDetail }).target
    const id = 't3'
    const a = sim.get('n0').agent.node.checker(id) as string
    sim.farm.down.add(id)
    f.check(`${id} unhealthy everywhere`, (await sim.runUntil(() => sim.live().every((x) => x.agent.node.health().find((h) => h.id === id)?.status === 'unhealthy'), 20_000)) >= 0)
    // History is written every 10 s (HistoryOptions.flushIntervalMs): a kill -9 loses at most that.
    await sim.run(11_000)
    sim.crash(a)
    await untilAllSeeGone(sim, a)
    const b = sim.live()[0]!.agent.node.checker(id) as string
    f.check('another agent took it over', b !== a || [b])
    sim.farm.down.delete(id)
    f.check(`${id} healthy again under ${b}`, (await sim.runUntil(() => sim.live().every((x) => x.agent.node.health().find((h) => h.id === id)?.status === 'healthy'), 20_000)) >= 0)
    sim.restart(a)
    f.check(`${a} back as its checker`, (await sim.runUntil(() => sim.live().every((x) => x.agent.node.checker(id) === a), 30_000)) >= 0)
    await sim.run(3000)
    const answers = await Promise.all(sim.live().map((x) => ask(x.name, id)))
    const changes = (t: TargetDetail) => t.transitions.map((x) => `${x.from}>${x.to}`)
    for (const t of answers) {
      f.check(`the story has the change ${a} saw and the one ${b} saw`, ['unhealthy>healthy', 'healthy>unhealthy', 'unknown>healthy'].every((c) => changes(t).includes(c)) || changes(t))
      f.check('recent results are the checker\'s', t.recent.length > 0 && t.recent.every((r) => r.checker === a) || [JSON.stringify(t.recent.slice(0, 2))])
      f.check('nothing is partial', t.partial === undefined || t.partial_reasons!)
    }
    const same = new Set(answers.map((t) => JSON.stringify([t.transitions, t.uptime, t.recent.at(-1)])))
    f.check('every agent gives the same story', same.size === 1 || [...same])
    // With the other checker gone, the answer says what is missing instead of hanging.
    const third = sim.live().find((x) => x.name !== a && x.name !== b)!.name
    sim.crash(b)
    const t = await ask(third, id)
    f.check(`partial, naming ${b}`, (t.partial === true && (t.partial_reasons ?? []).some((r) => r.startsWith(`${b}:`))) || [JSON.stringify(t.partial_reasons)])
    f.done()
  }, 120_000)

  test('a slow node (reads every packet 300 ms late for 20 s): the invariants hold', async () => {
    const f = new Findings(seed)
    const sim = await settledSim({ seed, agents: 8, targets: 300 }, f)
    const slow = 'n5'
    const at = sim.now()
    sim.net.lag(sim.addrOf(slow), 300, 20_000)
    await sim.run(20_000)
    const gap = sim.worstGap(at, sim.now())
    f.check('no target unchecked longer than detection + one interval while a node is slow', gap.ms <= 5000 + sim.intervalMs || [`${gap.id} ${gap.ms.toFixed(0)} ms`])
    await quiesce(sim, f, 'after the slow spell')
    await sim.run(3000 + sim.intervalMs + SLACK_MS)
    await steady(sim, f, 'after the slow spell')
    f.done()
  }, 120_000)
})
