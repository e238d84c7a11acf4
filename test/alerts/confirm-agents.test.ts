/**
 * confirm: 2 with real agents (the compiled binary) and a farm whose target fails
 * only for checks from one node (it knows the checking node from the User-Agent):
 * the target is not declared unhealthy, and the disagreement shows in the API; failing
 * for everyone, it is unhealthy with both confirmers named, in the incident and in the
 * webhook notification.
 */
import { afterAll, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFarm } from '../../src/farm/farm.ts'
import { AgentSet } from '../helpers/agents.ts'
import { ensureBinary, eventually } from '../helpers/binary.ts'

const farm = startFarm({ count: 3, seed: 2 })
const hooks: Array<{ kind: string; target: string; confirmedBy?: string[] }> = []
const hook = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: async (r) => (hooks.push((await r.json()) as (typeof hooks)[number]), new Response("ok")) })
let set: AgentSet | undefined
afterAll(async () => {
  await set?.stopAll()
  hook.stop(true)
  await farm.stop()
})

test('a target failing from one node only is not declared unhealthy; failing for all, it is, with both confirmers', async () => {
  const probe = new AgentSet(await ensureBinary(), 0)
  const targets = join(probe.dir, 'targets.yaml')
  writeFileSync(targets, `${farm.targetsYaml({ count: 3, intervalMs: 500, rise: 1, fall: 1 }).replace('defaults:', 'defaults:\n  confirm: 2')}webhooks:\n  - http://127.0.0.1:${hook.port}/\n`)
  set = new AgentSet(await ensureBinary(), 4, { names: 'v', targetsPath: targets })
  set.startAll()
  await set.waitConverged()
  await Bun.sleep(3500) // join settling: the owners are final
  const a = set.agents[0]!
  const target = async () => (await set!.get(a, '/v1/targets/t0?local=1')).target as { status: string; owner: string; confirmation?: { outcome: string; saw: Record<string, string> } }
  await eventually(async () => (await target()).status === 'healthy', 15_000, 't0 healthy')
  const owner = (await target()).owner

  farm.setMode('0', { mode: 'fail', status: 503, nodes: [owner] })
  await eventually(async () => (await target()).confirmation?.outcome === 'disagreed', 15_000, 'a disagreement on record')
  await Bun.sleep(3000)
  const t = await target()
  expect(t.status).toBe('healthy')
  expect(t.confirmation!.saw[owner]).toBe('fail')
  expect(Object.values(t.confirmation!.saw)).toContain('ok')
  expect(hooks).toEqual([])

  farm.setMode('0', { mode: 'fail', status: 503 })
  await eventually(async () => (await target()).status === 'unhealthy', 15_000, 'unhealthy once everyone sees it')
  expect((await target()).confirmation?.outcome).toBe('confirmed')
  await eventually(() => hooks.length === 1, 10_000, 'one notification')
  expect(hooks[0]).toMatchObject({ kind: 'down', target: 't0' })
  expect(hooks[0]!.confirmedBy).toHaveLength(2)
  expect(hooks[0]!.confirmedBy).toContain(owner)
}, 90_000)
