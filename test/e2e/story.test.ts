/**
 * Any node tells a target's whole story (real processes, the compiled binary): three
 * agents with data dirs; a target goes down under its first owner, which is then
 * stopped; it recovers under the next owner; the first comes back and takes it again.
 * Asked through `heck history`, a third agent shows both changes, the uptime of both
 * checkers together and the current checker's results; with a member killed, it says
 * what is missing instead of hanging.
 */
import { afterAll, expect, test } from 'bun:test'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { startFarm } from '../../src/farm/farm.ts'
import { AgentSet } from '../helpers/agents.ts'
import { ensureBinary, eventually } from '../helpers/binary.ts'

const farm = startFarm({ count: 4, seed: 3 })
let set: AgentSet | undefined
afterAll(async () => {
  await set?.stopAll()
  await farm.stop()
})

test('heck history on any node: changes across an owner\'s stop and return, summed uptime, the checker\'s results; partial when a member is gone', async () => {
  const bin = await ensureBinary()
  const probe = new AgentSet(bin, 0)
  const targets = join(probe.dir, 'targets.yaml')
  writeFileSync(targets, farm.targetsYaml({ count: 4, intervalMs: 300, rise: 1, fall: 1 }))
  set = new AgentSet(bin, 3, { targetsPath: targets, dataDirs: true, names: 'h' })
  set.startAll()
  await set.waitConverged()
  const [h1] = set.agents
  const id = 't0'
  const health = async (a = h1!) => ((await set!.get(a, '/v1/health')).targets as Array<{ id: string; status: string; owner: string }>).find((t) => t.id === id)
  await eventually(async () => (await health())?.status === 'healthy', 20_000, `${id} healthy`)
  await Bun.sleep(3500) // join settling: the owners are final
  const ownerName = async (via = h1!) => (await health(via))?.owner
  const byName = (n: string | undefined) => set!.agents.find((a) => a.name === n)!
  const first = byName(await ownerName())
  farm.setMode(['0'], { mode: 'fail' })
  await eventually(async () => (await health())?.status === 'unhealthy', 20_000, `${id} unhealthy`)
  await set.kill(first, 'SIGTERM') // a graceful stop writes its history
  const others = set.agents.filter((a) => a !== first)
  await eventually(async () => others.includes(byName(await ownerName(others[0]))), 20_000, 'another owner')
  const second = byName(await ownerName(others[0]))
  farm.setMode(['0'], { mode: 'ok' })
  await eventually(async () => (await health(others[0]))?.status === 'healthy', 20_000, `${id} healthy again`)
  set.start(first)
  await eventually(async () => (await health(others[0]))?.owner === first.name, 30_000, `${first.name} back as the checker`)
  await Bun.sleep(1500)
  const third = set.agents.find((a) => a !== first && a !== second)!
  const story = (await set.get(third, `/v1/targets/${id}`)).target
  const changes = story.transitions.map((t: { from: string; to: string }) => `${t.from}>${t.to}`)
  expect(changes).toContain('healthy>unhealthy')
  expect(changes).toContain('unhealthy>healthy')
  expect(story.uptime.h1).toBeGreaterThan(0)
  expect(story.uptime.h1).toBeLessThan(1)
  expect(story.recent.length).toBeGreaterThan(0)
  expect(story.recent.every((r: { checker: string }) => r.checker === first.name)).toBe(true)
  expect(story.partial).toBeUndefined()
  // Every node gives the same changes and uptime.
  for (const a of set.agents) {
    const s = (await set.get(a, `/v1/targets/${id}`)).target
    expect([s.transitions, s.uptime]).toEqual([story.transitions, story.uptime])
  }
  // In the terminal.
  const p = Bun.spawn([bin, 'history', id, '--http', `127.0.0.1:${third.http}`], { stdout: 'pipe', stderr: 'pipe' })
  const out = await new Response(p.stdout).text()
  expect(await p.exited).toBe(0)
  expect(out).toMatch(/uptime: 1h \d/)
  expect(out).toMatch(/healthy\s+unhealthy/)
  expect(out).toContain(first.name)
  // A member killed: the answer comes at once and says what is missing.
  await set.kill(second, 'SIGKILL')
  const t0 = Date.now()
  const partial = (await set.get(third, `/v1/targets/${id}`)).target
  expect(Date.now() - t0).toBeLessThan(3000)
  expect(partial.partial).toBe(true)
  expect(partial.partial_reasons.some((r: string) => r.startsWith(`${second.name}:`))).toBe(true)
}, 120_000)
