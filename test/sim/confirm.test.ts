/**
 * Confirmation from other vantage points across whole agents on the simulator (issue
 * 14, confirm: N): a target that fails only as seen from its owner stays as it was,
 * with who saw what in its answer; one that fails for everyone turns unhealthy with its
 * confirmers named in the incident and the notification; with fewer live nodes than N,
 * all there are confirm it and the record says `too few`.
 */
import { expect, test } from 'bun:test'
import { AgentSim, SIM_TOKEN, type SimAgent } from './agent-sim.ts'

const post = (a: SimAgent, body: unknown) => a.app.request('/v1/targets', { method: 'POST', headers: { authorization: `Bearer ${SIM_TOKEN}` }, body: JSON.stringify(body) })

test('confirm: 2 — one place failing keeps the status and says who saw what; everyone failing is unhealthy with both confirmers', async () => {
  const sim = new AgentSim({ seed: 17, agents: 4, targets: 2 })
  await sim.start()
  expect(await sim.runUntil(() => sim.membershipSettled(), 30_000)).toBeGreaterThanOrEqual(0)
  for (const a of sim.live()) a.agent.alerts.setHooks([{ url: 'http://hook.test/', headers: {} }])
  const n0 = sim.get('n0')
  expect((await post(n0, { id: 'c', tcp: '10.8.0.1:80', interval: '1s', rise: 1, fall: 1, confirm: 2 })).status).toBe(201)
  await sim.run(5000)
  const owner = n0.agent.node.checker('c')!
  const view = (a: SimAgent) => a.agent.node.health().find((h) => h.id === 'c')!
  expect(sim.live().every((a) => view(a).status === 'healthy')).toBe(true)

  // Failing only from the owner: not unhealthy anywhere; the disagreement shows, as an event too.
  const events: Array<{ type: string; id?: string }> = []
  sim.get('n3').agent.node.bus.subscribe((e) => events.push(e))
  sim.farm.downFrom.set('c', new Set([owner]))
  expect(await sim.runUntil(() => sim.live().every((a) => view(a).confirmation?.outcome === 'disagreed'), 15_000)).toBeGreaterThanOrEqual(0)
  await sim.run(5000)
  expect(sim.live().every((a) => view(a).status === 'healthy')).toBe(true)
  const saw = view(n0).confirmation!.saw
  expect(saw[owner]).toBe('fail')
  expect(Object.values(saw).filter((v) => v === 'ok')).toHaveLength(1)
  const sent = () => [...sim.agents.values()].flatMap((a) => a.webhooks.map((w) => JSON.parse(w.body) as { kind: string; confirmedBy?: string[] }))
  expect(sent()).toEqual([])
  expect(n0.metrics.render()).toMatch(/heck_confirmations_total\{outcome="disagreed"\} [1-9]/)
  expect(events.some((e) => e.type === 'confirmation' && e.id === 'c')).toBe(true)

  // Failing for everyone: unhealthy, the owner and its confirmer named.
  sim.farm.downFrom.delete('c')
  sim.farm.down.add('c')
  expect(await sim.runUntil(() => sim.live().every((a) => view(a).status === 'unhealthy'), 15_000)).toBeGreaterThanOrEqual(0)
  expect(view(sim.get('n2')).confirmation!.outcome).toBe('confirmed')
  expect(await sim.runUntil(() => sent().length === 1, 10_000)).toBeGreaterThanOrEqual(0)
  expect(sent()[0]!.confirmedBy).toHaveLength(2)
  expect(sent()[0]!.confirmedBy).toContain(owner)
}, 120_000)

test('confirm: 3 with two live nodes: both must see it fail, and the record says too few', async () => {
  const sim = new AgentSim({ seed: 18, agents: 2, targets: 1 })
  await sim.start()
  expect(await sim.runUntil(() => sim.membershipSettled(), 30_000)).toBeGreaterThanOrEqual(0)
  const n0 = sim.get('n0')
  expect((await post(n0, { id: 'c', tcp: '10.8.0.2:80', interval: '1s', rise: 1, fall: 1, confirm: 3 })).status).toBe(201)
  await sim.run(4000)
  sim.farm.down.add('c')
  const view = () => n0.agent.node.health().find((h) => h.id === 'c')!
  expect(await sim.runUntil(() => view().status === 'unhealthy', 15_000)).toBeGreaterThanOrEqual(0)
  expect(view().confirmation?.outcome).toBe('too few')
  expect(Object.keys(view().confirmation!.saw)).toHaveLength(2)
}, 60_000)
