/**
 * Push heartbeats across whole agents on the simulator (SPEC.md "Push heartbeats"):
 * pushes to a node that does not own the target reach its owner; killing the node
 * that took the pushes, then the owner, changes nothing while a job keeps pushing
 * somewhere; when it stops, every node shows the target unhealthy within the grace
 * plus about a second.
 */
import { expect, test } from 'bun:test'
import { AgentSim, SIM_TOKEN, type SimAgent } from './agent-sim.ts'

const SEED = Number(process.env.SIM_SEED ?? 7)
const GRACE_MS = 10_000

test(`push heartbeats survive the receiver's and the owner's death, and a silence shows everywhere within grace + 1 s (seed ${SEED})`, async () => {
  const sim = new AgentSim({ seed: SEED, agents: 5, targets: 20 })
  await sim.start()
  expect(await sim.runUntil(() => sim.membershipSettled(), 30_000)).toBeGreaterThanOrEqual(0)
  const n0 = sim.get('n0')
  const post = await n0.app.request('/v1/targets', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SIM_TOKEN}` },
    body: JSON.stringify({ id: 'job', push: { grace: `${GRACE_MS / 1000}s` } }),
  })
  expect(post.status).toBe(201)
  await sim.run(5000)
  const owner = () => sim.live()[0]!.agent.node.checker('job')
  const statusOn = (a: SimAgent) => a.agent.node.health().find((h) => h.id === 'job')
  let lastPush = 0
  const pushTo = async (a: SimAgent) => {
    const r = await a.app.request('/v1/push/job', { method: 'POST', headers: { authorization: `Bearer ${SIM_TOKEN}` } })
    expect(r.status).toBe(200)
    lastPush = sim.clock.now()
    return (await r.json()) as { held_by: string }
  }
  const everyoneHealthy = () => sim.live().every((a) => statusOn(a)?.status === 'healthy')
  const anyoneUnhealthy = () => sim.live().some((a) => statusOn(a)?.status === 'unhealthy')
  /** Pushes to `via()` every 2 s for `ms`, checking that no live node ever shows the target unhealthy. */
  const keepPushing = async (via: () => SimAgent, ms: number) => {
    for (let t = 0; t < ms; t += 2000) {
      await pushTo(via())
      for (let s = 0; s < 4; s++) {
        await sim.run(500)
        expect(anyoneUnhealthy()).toBe(false)
      }
    }
  }

  // Pushes go to a node that does not own the target: the owner holds them, and every node shows them.
  const o1 = owner()!
  const receiver = sim.live().find((a) => a.name !== o1)!
  const first = await pushTo(receiver)
  expect(first.held_by).toBe(o1)
  await keepPushing(() => receiver, 10_000)
  expect(everyoneHealthy()).toBe(true)
  for (const a of sim.live()) expect(Math.abs((statusOn(a)?.last?.pushed_at ?? 0) - lastPush)).toBeLessThan(2500)

  // The receiver dies; the job pushes to a third node.
  sim.crash(receiver.name)
  const third = () => sim.live().find((a) => a.name !== owner())!
  await keepPushing(third, 10_000)
  expect(everyoneHealthy()).toBe(true)

  // The owner dies while the job keeps pushing: the next owner carries on from the shared record.
  sim.crash(o1)
  await keepPushing(third, 16_000)
  expect(owner()).not.toBe(o1)
  expect(everyoneHealthy()).toBe(true)

  // The job stops: every live node shows it unhealthy within grace + about 1 s.
  const stopped = lastPush
  const took = await sim.runUntil(() => sim.live().every((a) => statusOn(a)?.status === 'unhealthy'), GRACE_MS + 10_000, 100)
  expect(took).toBeGreaterThanOrEqual(0)
  const at = sim.clock.now() - stopped
  expect(at).toBeGreaterThan(GRACE_MS)
  expect(at).toBeLessThanOrEqual(GRACE_MS + 1500)
  expect(statusOn(sim.live()[0]!)?.last?.error).toMatch(/no push within 10s/)

  // A push with ?status=fail fails at once; the next good one recovers it.
  const via = third()
  await via.app.request('/v1/push/job?status=fail&msg=disk%20full', { method: 'POST', headers: { authorization: `Bearer ${SIM_TOKEN}` } })
  await sim.run(2000)
  expect(statusOn(via)?.last?.error).toBe('the job reported a failure: disk full')
  await pushTo(via)
  expect(await sim.runUntil(everyoneHealthy, 3000, 100)).toBeGreaterThanOrEqual(0)
}, 120_000)
