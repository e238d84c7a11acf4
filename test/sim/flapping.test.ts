/**
 * Flap damping across whole agents on the simulator (issue 14): a target that keeps
 * changing state is marked flapping, its notifications are held, and once it has been
 * stable for `settle` one notification says where it ended.
 */
import { expect, test } from 'bun:test'
import { parseTargetsText } from '../../src/config/targets-file.ts'
import { AgentSim, SIM_TOKEN } from './agent-sim.ts'

test('a flapping target: held notifications, flapping shown, one notification where it ended', async () => {
  const sim = new AgentSim({ seed: 11, agents: 3, targets: 4 })
  await sim.start()
  expect(await sim.runUntil(() => sim.membershipSettled(), 30_000)).toBeGreaterThanOrEqual(0)
  for (const a of sim.live()) a.agent.alerts.setHooks([{ url: 'http://hook.test/', headers: {} }])
  const def = parseTargetsText('targets:\n  - {id: flappy, tcp: "10.9.9.9:80", interval: 500ms, rise: 1, fall: 1, flap: {changes: 2, within: 1m, settle: 10s}}\n', 't.yaml').targets[0]!
  const n0 = sim.get('n0')
  const body = JSON.stringify({ id: 'flappy', tcp: '10.9.9.9:80', interval: '500ms', rise: 1, fall: 1, flap: { changes: 2, within: '1m', settle: '10s' } })
  expect((await n0.app.request('/v1/targets', { method: 'POST', headers: { authorization: `Bearer ${SIM_TOKEN}` }, body })).status).toBe(201)
  expect(def.flap).toEqual({ changes: 2, withinMs: 60_000, settleMs: 10_000 })
  await sim.run(3000)
  const sent = () => [...sim.agents.values()].flatMap((a) => a.webhooks.map((w) => JSON.parse(w.body) as { kind: string; target: string }))
  const flapping = () => sim.live().every((a) => a.agent.node.health().find((h) => h.id === 'flappy')?.flapping === true)
  // Six changes, 2 s apart: the first two are announced (down, resolved); from the third on it flaps.
  for (let i = 0; i < 6; i++) {
    if (i % 2 === 0) sim.farm.down.add('flappy')
    else sim.farm.down.delete('flappy')
    await sim.run(2000)
  }
  expect(flapping()).toBe(true)
  expect(sent().map((n) => n.kind)).toEqual(['down', 'resolved'])
  const gauge = n0.metrics.render().match(/^heck_targets_flapping (\d+)/m)?.[1]
  expect(gauge).toBe('1')
  // It ends down: after 10 s of that, one notification says so, and flapping is over.
  sim.farm.down.add('flappy')
  expect(await sim.runUntil(() => sent().length === 3, 20_000, 100)).toBeGreaterThan(9000)
  expect(sent().map((n) => n.kind)).toEqual(['down', 'resolved', 'down'])
  await sim.run(2000)
  expect(sim.live().some((a) => a.agent.node.health().find((h) => h.id === 'flappy')?.flapping)).toBe(false)
  expect(sent()).toHaveLength(3)
}, 120_000)
