/**
 * Silences across whole agents on the simulator (issue 14): made through one node's API,
 * replicated to all; a silenced target is still checked and shown but nothing is sent;
 * lifting the silence sends what is owed; an expired silence removes itself everywhere.
 */
import { expect, test } from 'bun:test'
import { AgentSim, SIM_TOKEN, type SimAgent } from './agent-sim.ts'

const auth = { authorization: `Bearer ${SIM_TOKEN}`, 'content-type': 'application/json' }

test('a silence holds notifications cluster-wide until it is lifted or expires', async () => {
  const sim = new AgentSim({ seed: 5, agents: 3, targets: 6 })
  await sim.start()
  expect(await sim.runUntil(() => sim.membershipSettled(), 30_000)).toBeGreaterThanOrEqual(0)
  for (const a of sim.live()) a.agent.alerts.setHooks([{ url: 'http://hook.test/', headers: {} }])
  await sim.run(3000)
  const [n0, n1] = [sim.get('n0'), sim.get('n1')]
  const sent = () => [...sim.agents.values()].flatMap((a) => a.webhooks.map((w) => JSON.parse(w.body) as { kind: string; target: string }))
  const list = async (a: SimAgent) => ((await (await a.app.request('/v1/silences')).json()) as { silences: Array<{ id: string }> }).silences

  // Bad input names the field.
  const bad = await n0.app.request('/v1/silences', { method: 'POST', headers: auth, body: JSON.stringify({ target: 't1', reason: '' }) })
  expect(bad.status).toBe(400)
  expect(JSON.stringify(await bad.json())).toMatch(/until or duration.*reason: say why/)

  const made = await n0.app.request('/v1/silences', { method: 'POST', headers: auth, body: JSON.stringify({ id: 'maint', target: 't1', duration: '1h', reason: 'disk swap' }) })
  expect(made.status).toBe(201)
  expect(await sim.runUntil(() => sim.live().every((a) => a.agent.node.silences().some((s) => s.id === 'maint')), 5000)).toBeGreaterThanOrEqual(0)
  expect((await list(n1)).map((s) => s.id)).toEqual(['maint'])

  sim.farm.down.add('t1')
  sim.farm.down.add('t2') // not silenced: notified
  expect(await sim.runUntil(() => sent().some((n) => n.target === 't2'), 20_000)).toBeGreaterThanOrEqual(0)
  await sim.run(5000)
  expect(sim.live().every((a) => a.agent.node.health().find((h) => h.id === 't1')?.status === 'unhealthy')).toBe(true)
  expect(sent().filter((n) => n.target === 't1')).toEqual([])

  // Lifted through another node: the incident still open, its down goes out now.
  expect((await n1.app.request('/v1/silences/maint', { method: 'DELETE', headers: auth })).status).toBe(204)
  expect((await n1.app.request('/v1/silences/maint', { method: 'DELETE', headers: auth })).status).toBe(404)
  expect(await sim.runUntil(() => sent().some((n) => n.target === 't1' && n.kind === 'down'), 10_000)).toBeGreaterThanOrEqual(0)

  // A short silence expires and removes itself everywhere.
  await n0.app.request('/v1/silences', { method: 'POST', headers: auth, body: JSON.stringify({ id: 'short', target: 't3', duration: '5s', reason: 'test' }) })
  expect(await sim.runUntil(() => sim.live().every((a) => a.agent.node.silences().some((s) => s.id === 'short')), 5000)).toBeGreaterThanOrEqual(0)
  expect(await sim.runUntil(() => sim.live().every((a) => !a.agent.store.state.records('silence').has('short')), 15_000)).toBeGreaterThanOrEqual(0)
}, 120_000)
