/**
 * Agents in etcd mode (issue 13), real processes: a 3-member etcd cluster on loopback,
 * 4 agents of the compiled binary with `--store etcd://…`, 200 farm targets at 1 s.
 * Each target is checked by exactly one node; the busiest agent SIGKILLed has its
 * targets checked again within the lease TTL plus an interval; a SIGTERMed agent
 * shows `left` everywhere at once; the etcd leader killed, checking carries on.
 */
import { afterAll, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFarm } from '../../src/farm/farm.ts'
import { AgentSet, type Agent } from '../helpers/agents.ts'
import { ensureBinary, eventually } from '../helpers/binary.ts'
import { EtcdCluster, etcdBinary } from '../helpers/etcd-cluster.ts'

const TARGETS = 200
const TTL_MS = 3000
const INTERVAL_MS = 1000
const bin = etcdBinary()
const farm = startFarm({ count: TARGETS, seed: 13 })
let etcd: EtcdCluster | undefined
let set: AgentSet | undefined
afterAll(async () => {
  await set?.stopAll()
  await etcd?.stop()
  await farm.stop()
})

type Stats = ReturnType<typeof farm.stats>
const checkersOf = (st: Stats, i: number) => Object.keys(st.targets?.[String(i)]?.nodes ?? {})

test.skipIf(!bin)('4 agents through a 3-member etcd: one checker per target, SIGKILL and SIGTERM, the etcd leader killed', async () => {
  etcd = new EtcdCluster(bin as string, 3)
  await etcd.startAll()
  const probe = new AgentSet(await ensureBinary(), 0)
  const targets = join(probe.dir, 'targets.yaml')
  writeFileSync(targets, farm.targetsYaml({ count: TARGETS, intervalMs: INTERVAL_MS }))
  set = new AgentSet(await ensureBinary(), 4, { names: 'e', targetsPath: targets, extraArgs: ['--store', `etcd://${etcd.endpoints.join(',')}/e2e`, '--lease-ttl', `${TTL_MS / 1000}s`] })
  set.startAll()
  await set.waitConverged()
  const health = async (a: Agent) => (await set!.get(a, '/v1/health')).targets as Array<{ id: string; owner: string; status: string }>
  await eventually(async () => (await health(set!.agents[0]!)).filter((t) => t.status === 'healthy').length === TARGETS, 20_000, 'every target healthy')
  const hz = await set.get(set.agents[0]!, '/healthz')
  expect(hz.store).toMatchObject({ kind: 'etcd', ok: true })

  // Exactly one checker per target, the one every node names.
  farm.reset('counters')
  await Bun.sleep(4 * INTERVAL_MS)
  let st = farm.stats()
  const owners = new Map((await health(set.agents[1]!)).map((t) => [t.id, t.owner]))
  const bad: string[] = []
  for (let i = 0; i < TARGETS; i++) {
    const nodes = checkersOf(st, i)
    if (nodes.length !== 1 || nodes[0] !== owners.get(`t${i}`)) bad.push(`t${i}: owner ${owners.get(`t${i}`)}, checked by ${nodes.join(',')}`)
  }
  expect(bad).toEqual([])

  // SIGKILL the busiest: its targets are checked by another node within TTL + an interval.
  const load = new Map<string, number>()
  for (const o of owners.values()) load.set(o, (load.get(o) ?? 0) + 1)
  const busiest = [...load].sort((a, b) => b[1] - a[1])[0]![0]
  const victim = set.agents.find((a) => a.name === busiest)!
  const theirs = [...owners].filter(([, o]) => o === busiest).map(([id]) => Number(id.slice(1)))
  farm.reset('counters')
  const killedAt = Date.now()
  await set.kill(victim)
  await eventually(() => {
    st = farm.stats()
    return theirs.every((i) => checkersOf(st, i).some((n) => n !== busiest))
  }, 20_000, `targets of ${busiest} checked by another node`)
  const movedWithin = Date.now() - killedAt
  console.log(`etcd mode: SIGKILL ${busiest} (${theirs.length} targets): all checked by another node within ${movedWithin} ms (lease TTL ${TTL_MS} ms)`)
  expect(movedWithin).toBeLessThan(TTL_MS + INTERVAL_MS + 2000)

  // SIGTERM: every other node shows it `left` at once.
  const live = set.running()
  const leaver = live[live.length - 1]!
  await set.kill(leaver, 'SIGTERM')
  const t0 = Date.now()
  await eventually(async () => {
    for (const a of set!.running()) {
      const m = (await set!.get(a, '/v1/members')).members as Array<{ name: string; state: string }>
      if (m.find((x) => x.name === leaver.name)?.state !== 'left') return false
    }
    return true
  }, 5000, `${leaver.name} left everywhere`)
  console.log(`etcd mode: SIGTERM ${leaver.name}: left on every node within ${Date.now() - t0} ms`)

  // The etcd leader killed: checking carries on after the election.
  const leader = await etcd.leader()
  expect(leader).toBeDefined()
  await etcd.kill(leader!)
  await Bun.sleep(2000) // the election (election timeout 500 ms here)
  farm.reset('counters')
  await Bun.sleep(3 * INTERVAL_MS)
  st = farm.stats()
  const unchecked = Array.from({ length: TARGETS }, (_, i) => i).filter((i) => checkersOf(st, i).length === 0)
  expect(unchecked).toEqual([])
  const after = await set.get(set.running()[0]!, '/healthz')
  expect(after.store.ok).toBe(true)
}, 120_000)
