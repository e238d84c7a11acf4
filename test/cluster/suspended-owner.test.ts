/**
 * Fencing after a false suspicion (issue 6: "on takeover it starts a new ownership
 * term"; "the same health everywhere"). An owner frozen with SIGSTOP long enough
 * to be suspected loses its targets to their next owner, which writes them under
 * a higher term. When it resumes and owns them again, its later observations must
 * win everywhere: a status change it sees has to reach every node. Three real
 * agents on loopback (local profile, so the periodic push/pull runs every 5 s and
 * plain dissemination delays cannot explain a miss), farm in this process.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFarm, type Farm } from '../../src/farm/farm.ts'
import { AgentSet, type Agent } from '../helpers/agents.ts'
import { ensureBinary, eventually } from '../helpers/binary.ts'

const TARGETS = 30
let farm: Farm
let set: AgentSet
let dir: string | undefined

beforeAll(async () => {
  const bin = await ensureBinary()
  farm = startFarm({ count: TARGETS })
  dir = mkdtempSync(join(tmpdir(), 'heck-stop-'))
  const file = join(dir, 'targets.yaml')
  writeFileSync(file, farm.targetsYaml({ count: TARGETS, intervalMs: 1000 }))
  set = new AgentSet(bin, 3, { profile: 'local', targetsPath: file })
  set.startAll()
}, 30_000)

afterAll(async () => {
  for (const a of set?.agents ?? []) a.proc?.kill('SIGCONT')
  await set?.stopAll()
  await farm?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const statusOn = async (a: Agent, id: string) => ((await set.get(a, '/v1/health')).targets as Array<{ id: string; status: string }>).find((t) => t.id === id)?.status

test('an owner that was suspected and came back: its later status change reaches every node', async () => {
  await set.waitConverged(20_000)
  await eventually(async () => {
    for (const a of set.agents) for (let i = 0; i < TARGETS; i++) if ((await statusOn(a, `t${i}`)) !== 'healthy') return false
    return true
  }, 30_000, 'all targets healthy on all nodes')
  // Newcomers take their share once joins have been quiet for a few seconds (joinSettleMs).
  let map: Record<string, string[]> = {}
  await eventually(async () => {
    map = (await set.get(set.agents[0] as Agent, '/v1/ownership')).ownership as Record<string, string[]>
    return Object.keys(map).some((n) => n !== 'a1')
  }, 15_000, 'ownership spread beyond the seed')
  // Freeze a non-seed owner (the seed answers joins).
  const [name, list] = Object.entries(map).filter(([n]) => n !== 'a1').sort((a, b) => b[1].length - a[1].length)[0] as [string, string[]]
  const owner = set.agents.find((a) => a.name === name) as Agent
  const others = set.agents.filter((a) => a !== owner)
  const id = list[0] as string
  const ep = id.slice(1)
  owner.proc?.kill('SIGSTOP')
  const stoppedAt = Date.now()
  // Another node takes the target over (a higher term), then the owner resumes.
  await eventually(() => Object.keys(farm.stats({ target: ep }).targets?.[ep]?.nodes ?? {}).some((n) => n !== name && (farm.stats({ target: ep }).targets?.[ep]?.nodes[n]?.last ?? 0) > stoppedAt), 10_000, 'a takeover of the frozen owner\'s target')
  owner.proc?.kill('SIGCONT')
  await set.waitConverged(20_000)
  await eventually(async () => (await set.get(set.agents[0] as Agent, `/v1/ownership?target=${id}`)).owners[0] === name, 10_000, 'the owner to be first owner again')
  await Bun.sleep(2000)
  // The owner, checking again, sees the target fail.
  farm.setMode(ep, { mode: 'fail' })
  await eventually(async () => (await statusOn(owner, id)) === 'unhealthy', 15_000, 'the owner to see the target unhealthy')
  const seenAt = Date.now()
  let last: Array<string | undefined> = []
  await eventually(async () => {
    last = await Promise.all(others.map((a) => statusOn(a, id)))
    return last.every((s) => s === 'unhealthy')
  }, 15_000, 'the change to reach the other nodes').catch(async (e) => {
    const lastBy = await Promise.all(others.map(async (a) => (await set.get(a, `/v1/targets/${id}`)).target?.last?.checker))
    throw new Error(`${String(e)}: ${others.map((a, i) => `${a.name}=${last[i]} (last result by ${lastBy[i]})`).join(' ')} (owner ${name} sees unhealthy). ` +
      'Known bug (V2 cluster-test report): the resumed owner keeps writing under its old ownership term, which loses to the interim owner\'s higher term.')
  })
  console.log(`status change by the resumed owner ${name} reached the other nodes after ${Date.now() - seenAt} ms`)
}, 120_000)
