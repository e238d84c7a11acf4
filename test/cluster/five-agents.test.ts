/**
 * Version 2 end to end (issue 6): five real agents (the compiled binary) on
 * loopback, joined through the first, watch 500 farm targets at a 1 s interval.
 * The farm runs in this process and counts every check per target and per
 * checking node (from the User-Agent); ArrivalLog keeps the arrival history, so
 * the test sees exactly who checked what and when:
 *   steady state: one checker per target at its interval, load per node, `heck status` agrees;
 *   SIGKILL of the busiest node: takeover, coverage gaps (printed), versus detection time;
 *   restart (same name and ports): hand-back, no target unchecked, double-checking time (printed);
 *   registry: a target added while a node is down reaches it after it rejoins; a delete reaches all.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFarm, type Farm } from '../../src/farm/farm.ts'
import { AgentSet, type Agent } from '../helpers/agents.ts'
import { ensureBinary, eventually } from '../helpers/binary.ts'
import { ArrivalLog, fmtQ, quantiles } from './arrivals.ts'

const N = 5
const TARGETS = 500
const INTERVAL_MS = 1000
/**
 * lan by default: its 500 ms probe timeout rides out the stalls of this shared
 * 2-core machine, where the local profile's 100 ms one gave false suspicions
 * (and so brief double-checking) in about one steady-state window out of two.
 * HECK_CLUSTER_PROFILE=local runs the same test at local timings.
 */
const PROFILE = process.env.HECK_CLUSTER_PROFILE ?? 'lan'
const ids = Array.from({ length: TARGETS }, (_, i) => `t${i}`)

let bin: string
let farm: Farm
let set: AgentSet
let log: ArrivalLog
let dir: string | undefined

const owners = async (a: Agent): Promise<Record<string, string[]>> => (await set.get(a, '/v1/ownership')).ownership
const memberState = async (a: Agent, name: string): Promise<string | undefined> =>
  ((await set.get(a, '/v1/members')).members as Array<{ name: string; state: string }>).find((m) => m.name === name)?.state

/** Time (ms since `since`) at which every agent in `who` reports `name` in one of `states`. */
async function whenAll(who: Agent[], name: string, states: string[], since: number, timeoutMs: number): Promise<number> {
  await eventually(async () => {
    for (const a of who) if (!states.includes((await memberState(a, name)) ?? '')) return false
    return true
  }, timeoutMs, `${name} to be ${states.join('|')} on ${who.map((a) => a.name).join(',')}`)
  return Date.now() - since
}

/**
 * Waits until a restarted agent checks each of `targets` again, lets three more
 * intervals pass, and checks that every target has exactly one checker in the last
 * two. Returns the end of that window.
 */
async function expectHandedBack(victim: Agent, targets: string[], restartAt: number): Promise<number> {
  await eventually(() => {
    log.collect()
    return targets.every((id) => log.arrivals(id, restartAt).some((a) => a.node === victim.name))
  }, 15_000, 'the restarted node to check its targets again')
  await Bun.sleep(3 * INTERVAL_MS)
  log.collect()
  const end = Date.now()
  const multi = ids.filter((id) => new Set(log.arrivals(id, end - 2 * INTERVAL_MS).map((a) => a.node)).size !== 1)
  expect(multi).toEqual([])
  return end
}

beforeAll(async () => {
  bin = await ensureBinary()
  farm = startFarm({ count: TARGETS + 10 })
  dir = mkdtempSync(join(tmpdir(), 'heck-five-'))
  const file = join(dir, 'targets.yaml')
  writeFileSync(file, farm.targetsYaml({ count: TARGETS, intervalMs: INTERVAL_MS }))
  set = new AgentSet(bin, N, { profile: PROFILE, targetsPath: file })
  set.startAll()
  log = new ArrivalLog(farm, Object.fromEntries(ids.map((id, i) => [id, String(i)])))
}, 30_000)

afterAll(async () => {
  log?.stop()
  await set?.stopAll()
  await farm?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('five agents, 500 targets at 1 s', () => {
  test('steady state: one checker per target at its interval, balanced load, status agrees everywhere', async () => {
    await set.waitConverged(20_000)
    // Every node computes the same ownership once membership has converged.
    await eventually(async () => {
      const maps = await Promise.all(set.agents.map(owners))
      const key = (m: Record<string, string[]>) => JSON.stringify(Object.keys(m).sort().map((k) => [k, [...(m[k] ?? [])].sort()]))
      return maps.every((m) => key(m) === key(maps[0] as Record<string, string[]>)) && Object.values(maps[0] ?? {}).flat().length === TARGETS
    }, 20_000, 'identical ownership maps')
    // Count checks over a 10 s window. A window during which some node saw another
    // suspect (a false suspicion on this shared 2-core machine: the local profile's
    // probe timeout is 100 ms) legitimately has two checkers for a while; such a
    // window is printed and measured again (at most 3 windows). Double-checking
    // with no suspicion seen anywhere fails at once.
    let st!: ReturnType<Farm['stats']>
    let t0 = 0
    let bad: string[] = []
    const ownerOf = new Map<string, string>()
    for (let attempt = 1; attempt <= 3; attempt++) {
      await Bun.sleep(3 * INTERVAL_MS)
      farm.reset('counters')
      t0 = Date.now()
      const suspicions = new Set<string>()
      const watch = (async () => {
        while (Date.now() - t0 < 10 * INTERVAL_MS) {
          for (const a of set.agents) {
            const m = ((await set.get(a, '/v1/members').catch(() => ({ members: [] }))).members ?? []) as Array<{ name: string; state: string }>
            for (const x of m) if (x.state !== 'alive') suspicions.add(`${a.name} saw ${x.name} ${x.state}`)
          }
          await Bun.sleep(100)
        }
      })()
      await Bun.sleep(10 * INTERVAL_MS)
      st = farm.stats()
      await watch
      const map = await owners(set.agents[0] as Agent)
      ownerOf.clear()
      for (const [node, list] of Object.entries(map)) for (const id of list) ownerOf.set(id, node)
      bad = []
      for (let i = 0; i < TARGETS; i++) {
        const t = st.targets?.[String(i)]
        const nodes = Object.keys(t?.nodes ?? {})
        if (nodes.length !== 1 || nodes[0] !== ownerOf.get(`t${i}`))
          bad.push(`t${i}: owner ${ownerOf.get(`t${i}`)}, checked by ${Object.entries(t?.nodes ?? {}).map(([k, v]) => `${k}×${v.count} [+${v.first - t0}..+${v.last - t0} ms]`).join(', ')}`)
      }
      if (bad.length === 0) break
      console.warn(`window ${attempt}: ${bad.length} targets not checked by exactly their owner; suspicions seen: ${[...suspicions].join('; ') || 'none'}`)
      console.warn(bad.slice(0, 5).join('\n'))
      if (suspicions.size === 0) break
    }
    const span = st.now - t0
    const intervals: number[] = []
    for (let i = 0; i < TARGETS; i++) {
      const t = st.targets?.[String(i)]
      const n = t?.nodes[ownerOf.get(`t${i}`) ?? '']
      if (n && n.count >= 2) intervals.push((n.last - n.first) / (n.count - 1))
    }
    expect(bad).toEqual([])
    const q = quantiles(intervals)
    const slow = [...ownerOf].filter(([id]) => {
      const n = st.targets?.[id.slice(1)]?.nodes[ownerOf.get(id) ?? '']
      return n && n.count >= 2 && (n.last - n.first) / (n.count - 1) > 1.1 * INTERVAL_MS
    })
    if (slow.length) console.warn(`targets checked slower than 1.1 s: ${slow.length}, by ${JSON.stringify(Object.fromEntries([...new Set(slow.map((x) => x[1]))].map((n) => [n, slow.filter((x) => x[1] === n).length])))}`)
    console.log(`steady state over ${span} ms: mean interval per target ${fmtQ(q)}; min ${Math.round(Math.min(...intervals))} ms`)
    // At its interval, ±10%: each target's mean interval over ~10 checks.
    expect(intervals.length).toBe(TARGETS)
    expect(Math.min(...intervals)).toBeGreaterThanOrEqual(0.9 * INTERVAL_MS)
    expect(Math.max(...intervals)).toBeLessThanOrEqual(1.1 * INTERVAL_MS)
    // Load per node. Each target lands on a member like a fair 5-sided die (2^18 fixed
    // slots add only ~sqrt(5/2^18) ≈ 0.4% of noise), so a member's share is about
    // Binomial(500, 1/5): mean 100, σ ≈ 8.9. Bound: mean ± 4σ, i.e. 64..136 targets;
    // the farm's per-node counts must also match the ownership the nodes report.
    const perNode: Record<string, number> = {}
    for (const node of ownerOf.values()) perNode[node] = (perNode[node] ?? 0) + 1
    console.log(`targets per node: ${JSON.stringify(perNode)}; checks per node in the window: ${JSON.stringify(st.byNode)}`)
    expect(Object.keys(perNode).sort()).toEqual(set.agents.map((a) => a.name).sort())
    for (const [node, n] of Object.entries(perNode)) {
      expect(n).toBeGreaterThanOrEqual(64)
      expect(n).toBeLessThanOrEqual(136)
      // Checks seen by the farm ≈ targets × window / interval, ±10%.
      const expected = (n * span) / INTERVAL_MS
      expect(Math.abs((st.byNode[node] ?? 0) - expected)).toBeLessThanOrEqual(0.1 * expected + n)
    }
    // `heck status --json` from every node: same targets, same status, same owner.
    let diff: string[] = []
    const t1 = Date.now()
    await eventually(async () => {
      const views = await Promise.all(set.agents.map((a) => set.status(a)))
      const rows = views.map((v) => new Map((v.targets as Array<{ id: string; status: string; owner: string }>).map((t) => [t.id, `${t.status}/${t.owner}`])))
      diff = []
      for (const id of ids) {
        const seen = rows.map((r) => r.get(id) ?? 'missing')
        if (new Set(seen).size !== 1) diff.push(`${id}: ${seen.map((x, i) => `${set.agents[i]?.name}=${x}`).join(' ')}`)
      }
      return diff.length === 0 && views.every((v, i) => v.node === set.agents[i]?.name)
    }, 15_000, '`heck status --json` to agree on all 5 nodes').catch((e) => {
      throw new Error(`${String(e)}; ${diff.length} targets differ, e.g.\n${diff.slice(0, 10).join('\n')}`)
    })
    console.log(`\`heck status --json\` agreed on all 5 nodes after ${Date.now() - t1} ms of polling`)
  }, 90_000)

  let victim: Agent
  let killedAt = 0
  let victimTargets: string[] = []

  test('SIGKILL the busiest node: its targets are checked again by their next owner within detection + 1 interval', async () => {
    const map = await owners(set.agents[0] as Agent)
    const [name, list] = Object.entries(map).sort((a, b) => b[1].length - a[1].length)[0] as [string, string[]]
    victim = set.agents.find((a) => a.name === name) as Agent
    victimTargets = list
    const survivors = set.agents.filter((a) => a !== victim)
    // The next owner of each victim target, from the live owner lists (priority order).
    const nextOwner = new Map<string, string>()
    for (const id of list) {
      const o = (await set.get(survivors[0] as Agent, `/v1/ownership?target=${id}`)).owners as string[]
      nextOwner.set(id, o.find((x) => x !== name) as string)
    }
    log.start(2000)
    await Bun.sleep(3 * INTERVAL_MS)
    killedAt = Date.now()
    await set.kill(victim, 'SIGKILL')
    const [suspectMs, deadMs] = await Promise.all([
      whenAll(survivors, name, ['suspect', 'dead'], killedAt, 15_000),
      whenAll(survivors, name, ['dead'], killedAt, 15_000),
    ])
    await eventually(() => {
      log.collect()
      return list.every((id) => log.arrivals(id, killedAt).some((a) => a.node !== name))
    }, 15_000, 'every target of the killed node to be checked by another node')
    await Bun.sleep(2 * INTERVAL_MS)
    log.collect()
    const end = Date.now()
    const wrongHeir = list.filter((id) => log.arrivals(id, killedAt).some((a) => a.node !== nextOwner.get(id) && a.node !== name))
    expect(wrongHeir).toEqual([])
    const gaps = list.map((id) => log.maxGap(id, killedAt - INTERVAL_MS, end))
    const others = ids.filter((id) => !list.includes(id)).map((id) => log.maxGap(id, killedAt - INTERVAL_MS, end))
    const q = quantiles(gaps)
    const firstByHeir = list.map((id) => ((log.arrivals(id, killedAt).find((a) => a.node !== name)?.at ?? NaN) - killedAt))
    console.log(`killed ${name} (owned ${list.length}); all survivors saw it suspect after ${suspectMs} ms, dead after ${deadMs} ms`)
    console.log(`coverage gap of its targets: ${fmtQ(q)}`)
    console.log(`first check by the next owner, after the kill: ${fmtQ(quantiles(firstByHeir))}; min ${Math.round(Math.min(...firstByHeir))} ms`)
    console.log(`coverage gap of the other ${others.length} targets: ${fmtQ(quantiles(others))}`)
    // The bound the issue asks for, measured against the time until all survivors marked it dead, +50 ms polling slack.
    // Known to fail (reported to the lead): a taken-over target's first check is placed at a random
    // point of its interval (Scheduler.setTargets spreads new entries over [0, interval)), so the
    // gap is up to (last check → kill) + suspicion + 1 interval, i.e. about detection + 2 intervals.
    expect(q.max).toBeLessThanOrEqual(deadMs + INTERVAL_MS + 50)
    // Targets owned by survivors are not disturbed.
    expect(quantiles(others).max).toBeLessThan(1.5 * INTERVAL_MS)
  }, 60_000)

  const extra = { id: 'added-while-down', url: '' }

  test('a target registered while a node is down reaches it after it rejoins', async () => {
    const other = set.agents.find((a) => a !== victim && a.proc?.exitCode === null) as Agent
    extra.url = `${farm.url}/t/${TARGETS + 1}`
    const r = await fetch(`${set.url(other)}/v1/targets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: extra.id, url: extra.url, interval: '1s' }),
    })
    expect(r.status).toBe(201)
    log.track({ [extra.id]: String(TARGETS + 1) })
  })

  test('restart the killed node: it rejoins, takes its targets back, none goes unchecked; double-checking time printed', async () => {
    const restartAt = Date.now()
    set.start(victim)
    await set.waitConverged(20_000)
    const joinedMs = Date.now() - restartAt
    await eventually(async () => {
      const map = await owners(victim)
      return victimTargets.every((id) => map[victim.name]?.includes(id))
    }, 15_000, 'the restarted node to own its targets again')
    // Back to one checker per target: in the last 2 intervals, each target has one node.
    const end = await expectHandedBack(victim, victimTargets, restartAt)
    const back = victimTargets.filter((id) => log.arrivals(id, end - 2 * INTERVAL_MS).every((a) => a.node === victim.name))
    expect(back.length).toBe(victimTargets.length)
    const gaps = ids.map((id) => log.maxGap(id, restartAt, end))
    const overlaps = ids.map((id) => log.overlap(id, restartAt, end))
    const handed = victimTargets.map((id) => log.overlap(id, restartAt, end))
    const doubled = overlaps.filter((x) => x > 0).length
    console.log(`restarted ${victim.name}: full membership after ${joinedMs} ms`)
    console.log(`coverage gap, all targets, from restart: ${fmtQ(quantiles(gaps))}`)
    console.log(`double-checking, targets handed back: ${fmtQ(quantiles(handed))}; ${doubled} of ${TARGETS} targets were checked by two nodes at some point`)
    // No target goes unchecked: nothing waits much beyond one interval.
    expect(quantiles(gaps).max).toBeLessThan(2 * INTERVAL_MS)
    // The restarted node knows the target registered while it was down.
    const r = await fetch(`${set.url(victim)}/v1/targets/${extra.id}`)
    expect(r.status).toBe(200)
    expect(((await r.json()) as { target: { definition: { id: string } } }).target.definition.id).toBe(extra.id)
  }, 90_000)

  test('a target deleted through one node disappears on all', async () => {
    const via = set.agents[set.agents.length - 1] === victim ? (set.agents[0] as Agent) : (set.agents[set.agents.length - 1] as Agent)
    await eventually(async () => {
      for (const a of set.agents) if ((await fetch(`${set.url(a)}/v1/targets/${extra.id}`)).status !== 200) return false
      return true
    }, 10_000, 'the added target on all nodes')
    const r = await fetch(`${set.url(via)}/v1/targets/${extra.id}`, { method: 'DELETE' })
    expect(r.status).toBe(204)
    const t0 = Date.now()
    let still: string[] = []
    await eventually(async () => {
      still = []
      for (const a of set.agents) {
        const gone = (await fetch(`${set.url(a)}/v1/targets/${extra.id}`)).status === 404
        const h = (await set.get(a, '/v1/health')).targets as Array<{ id: string }>
        if (!gone || h.some((t) => t.id === extra.id)) still.push(a.name)
      }
      return still.length === 0
    }, 40_000, 'the deleted target to disappear on all nodes').catch((e) => {
      throw new Error(`${String(e)}; deleted through ${via.name}, still present on ${still.join(',')} (restarted: ${victim.name})`)
    })
    console.log(`delete visible on all 5 nodes after ${Date.now() - t0} ms`)
    // And nobody checks it any more.
    await Bun.sleep(2 * INTERVAL_MS)
    log.collect()
    expect(log.arrivals(extra.id, Date.now() - INTERVAL_MS).length).toBe(0)
  }, 60_000)

  test('restart with --data-dir: back with its saved state, takes its targets back; double-checking printed', async () => {
    // Run it once with a data dir so there is something saved (the state is written every 15 s), then SIGKILL and restart.
    victim.dataDir = join(set.dir, `${victim.name}-data`)
    await set.kill(victim, 'SIGKILL')
    set.start(victim)
    await set.waitConverged(20_000)
    await Bun.sleep(16_000)
    log.collect()
    const killAt = Date.now()
    await set.kill(victim, 'SIGKILL')
    await eventually(async () => ['suspect', 'dead'].includes((await memberState(set.agents.find((a) => a !== victim) as Agent, victim.name)) ?? ''), 15_000, 'the kill to be seen')
    await Bun.sleep(2 * INTERVAL_MS)
    const restartAt = Date.now()
    set.start(victim)
    await set.waitConverged(20_000)
    const end = await expectHandedBack(victim, victimTargets, restartAt)
    const gaps = ids.map((id) => log.maxGap(id, restartAt, end))
    const overlaps = ids.map((id) => log.overlap(id, restartAt, end))
    const saved = readdirSync(victim.dataDir).join(',')
    console.log(`--data-dir restart of ${victim.name} (${restartAt - killAt} ms after the kill; data dir holds: ${saved})`)
    console.log(`coverage gap, all targets, from restart: ${fmtQ(quantiles(gaps))}`)
    console.log(`double-checking after the restart: ${fmtQ(quantiles(overlaps))}; ${overlaps.filter((x) => x > 0).length} of ${TARGETS} targets were checked by two nodes at some point`)
    expect(quantiles(gaps).max).toBeLessThan(2 * INTERVAL_MS)
  }, 90_000)

  test('a quick restart (SIGKILL, back at once, before anyone saw it gone): its targets wait no longer than the restart', async () => {
    await set.waitConverged(20_000)
    await expectHandedBack(victim, victimTargets, Date.now())
    log.collect()
    const killAt = Date.now()
    await set.kill(victim, 'SIGKILL')
    set.start(victim)
    await set.waitConverged(20_000)
    // Nodes whose view had it dead by then count it a newcomer for joinSettleMs (3 s) after
    // it refutes, and keep checking its targets meanwhile: double-checking, never a gap.
    await Bun.sleep(5000)
    const end = await expectHandedBack(victim, victimTargets, killAt)
    const gaps = victimTargets.map((id) => log.maxGap(id, killAt, end))
    const overlaps = victimTargets.map((id) => log.overlap(id, killAt, end))
    console.log(`quick restart of ${victim.name}: coverage gap of its targets: ${fmtQ(quantiles(gaps))}`)
    console.log(`quick restart: double-checking of its targets: ${fmtQ(quantiles(overlaps))}`)
    // The node is back as an owner at once (the cluster never counted it gone), so its
    // targets wait for the restart and one interval, not for join settling on top.
    expect(quantiles(gaps).max).toBeLessThan(3 * INTERVAL_MS)
  }, 90_000)
})
