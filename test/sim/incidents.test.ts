/**
 * One notification per incident across whole agents on the simulator (issue 14): a
 * target goes down, its owner (the only sender) is crashed after announcing it, the
 * target recovers under the next owner, and the cluster as a whole has sent exactly
 * one "down" and one "resolved" for the incident, naming the same incident id. Also
 * with the owner crashed before the target's recovery was seen, and restarted.
 */
import { expect, test } from 'bun:test'
import { AgentSim } from './agent-sim.ts'

const SEEDS = (process.env.SIM_SEEDS ?? '1,2,3').split(',').map(Number)

for (const seed of SEEDS) {
  test(`exactly one down and one resolved per incident, the owner crashed and restarted midway (seed ${seed})`, async () => {
    const sim = new AgentSim({ seed, agents: 4, targets: 12 })
    await sim.start()
    expect(await sim.runUntil(() => sim.membershipSettled(), 30_000)).toBeGreaterThanOrEqual(0)
    for (const a of sim.live()) a.agent.alerts.setHooks([{ url: 'http://hook.test/', headers: {} }])
    await sim.run(5000)
    const sent = () =>
      [...sim.agents.values()].flatMap((a) => a.webhooks.map((w) => ({ by: a.name, ...(JSON.parse(w.body) as { kind: string; target: string; incident: string }) })))
    const ids = ['t2', 't5', 't9']
    for (const id of ids) {
      const owner = sim.live()[0]!.agent.node.checker(id)!
      sim.farm.down.add(id)
      expect(await sim.runUntil(() => sent().some((n) => n.target === id && n.kind === 'down'), 20_000)).toBeGreaterThanOrEqual(0)
      // The owner dies with the incident open; the target recovers under the next owner.
      sim.crash(owner)
      await sim.run(1000)
      sim.farm.down.delete(id)
      expect(await sim.runUntil(() => sent().some((n) => n.target === id && n.kind === 'resolved'), 30_000)).toBeGreaterThanOrEqual(0)
      sim.restart(owner)
      for (const a of sim.live()) a.agent.alerts.setHooks([{ url: 'http://hook.test/', headers: {} }])
      await sim.run(8000) // the restarted owner takes the target back: it must not notify again
    }
    const all = sent()
    for (const id of ids) {
      const mine = all.filter((n) => n.target === id)
      expect(mine.filter((n) => n.kind === 'down')).toHaveLength(1)
      expect(mine.filter((n) => n.kind === 'resolved')).toHaveLength(1)
      expect(new Set(mine.map((n) => n.incident)).size).toBe(1)
    }
    // Nothing else was announced: the other targets never went down.
    expect(all.every((n) => ids.includes(n.target))).toBe(true)
  }, 120_000)
}

test('a partition: each side notifies once, and the duplicate is counted by the senders once the sides meet again', async () => {
  const sim = new AgentSim({ seed: 21, agents: 4, targets: 6 })
  await sim.start()
  expect(await sim.runUntil(() => sim.membershipSettled(), 30_000)).toBeGreaterThanOrEqual(0)
  for (const a of sim.live()) a.agent.alerts.setHooks([{ url: 'http://hook.test/', headers: {} }])
  await sim.run(3000)
  const owner = sim.get('n1').agent.node.checker('t4')!
  const others = sim.live().filter((a) => a.name !== owner)
  sim.net.partition([sim.addrOf(owner)], others.map((a) => a.addr))
  await sim.run(8000) // each side: the other is dead, and the majority took t4 over
  sim.farm.down.add('t4')
  const downs = () => [...sim.agents.values()].flatMap((a) => a.webhooks.map((w) => JSON.parse(w.body) as { kind: string; target: string })).filter((n) => n.target === 't4' && n.kind === 'down')
  expect(await sim.runUntil(() => downs().length === 2, 20_000)).toBeGreaterThanOrEqual(0)
  sim.net.heal()
  const dup = () => sim.live().reduce((n, a) => n + Number(a.metrics.render().match(/^heck_notifications_duplicate_total\{kind="down"\} (\d+)/m)?.[1] ?? 0), 0)
  expect(await sim.runUntil(() => dup() >= 1, 30_000)).toBeGreaterThanOrEqual(0)
  await sim.run(5000)
  expect(dup()).toBeLessThanOrEqual(2) // at most once on each of the two senders
  expect(downs()).toHaveLength(2)
}, 120_000)
