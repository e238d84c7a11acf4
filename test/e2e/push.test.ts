/**
 * Push heartbeats in a real 3-agent cluster (the compiled binary, issue 15): a job
 * pushes to node A while B owns the target; A is killed and the job pushes to C: the
 * target stays healthy. The job stops: every node shows it unhealthy within grace +
 * about 1 s. A push with the target's token needs no other credential.
 */
import { afterAll, expect, test } from 'bun:test'
import { AgentSet, type Agent } from '../helpers/agents.ts'
import { ensureBinary, eventually } from '../helpers/binary.ts'

const GRACE_S = 4
const TOKEN = 'e2e-push-token-0123456789'
let set: AgentSet | undefined
afterAll(() => set?.stopAll())

test('pushes reach the owner from any node; the receiver dying changes nothing; a silence shows everywhere within grace + 1 s', async () => {
  set = new AgentSet(await ensureBinary(), 3, { names: 'p' })
  set.startAll()
  await set.waitConverged()
  const [first] = set.agents
  const post = await fetch(`${set.url(first!)}/v1/targets`, { method: 'POST', body: JSON.stringify({ id: 'job', push: { grace: `${GRACE_S}s`, token: TOKEN } }) })
  expect(post.status).toBe(201)
  await Bun.sleep(3500) // join settling: the owners are final
  const owners = (await set.get(first!, '/v1/ownership?target=job')).owners as string[]
  const byName = (n: string) => set!.agents.find((a) => a.name === n)!
  const owner = byName(owners[0]!)
  const [a, c] = set.agents.filter((x) => x !== owner) as [Agent, Agent]
  const push = async (via: Agent, q = '') => {
    const r = await fetch(`${set!.url(via)}/v1/push/job${q}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(r.status).toBe(200)
    return (await r.json()) as { held_by: string; received_at: number }
  }
  const statusEverywhere = async () => Promise.all(set!.running().map(async (x) => ((await set!.get(x, '/v1/health')).targets as Array<{ id: string; status: string; last?: { pushed_at?: number } }>).find((t) => t.id === 'job')))

  // Pushes to A, which does not own the target: B holds them, every node shows the heartbeat.
  let last = await push(a)
  expect(last.held_by).toBe(owner.name)
  await eventually(async () => (await statusEverywhere()).every((t) => t?.status === 'healthy' && t.last?.pushed_at === last.received_at), 5000, 'heartbeat on every node')

  // A dies; the job pushes to C for longer than the grace: never unhealthy.
  await set.kill(a)
  for (let i = 0; i < 8; i++) {
    last = await push(c)
    await Bun.sleep(1000)
    for (const t of await statusEverywhere()) expect(t?.status).toBe('healthy')
  }

  // The job stops: unhealthy on every live node within grace + about 1 s of the last push.
  const t0 = Date.now()
  await eventually(async () => (await statusEverywhere()).every((t) => t?.status === 'unhealthy'), (GRACE_S + 5) * 1000, 'unhealthy everywhere')
  const took = Date.now() - last.received_at
  expect(Date.now() - t0).toBeGreaterThan(GRACE_S * 1000 - 1500)
  expect(took).toBeLessThanOrEqual(GRACE_S * 1000 + 1500)
  const seen = await set.get(c, '/v1/targets/job?local=1')
  expect(seen.target.last.error).toMatch(/no push within 4s/)
  expect(seen.target.definition.push.token).toBe('<redacted>')
}, 90_000)
