/**
 * A target's whole story answered by a node that does not check it (issue 16,
 * node/story.ts): `GET /v1/targets/:id` on a non-owner asks every live member for
 * its part (`/v1/targets/:id/part`) and merges them. Nothing is replicated for it,
 * so its cost is per request; this measures that cost in a loaded cluster.
 *
 *   AGENTS agents (compiled binary, loopback, lan), TARGETS farm targets at 1 s, the
 *   same targets file on each; after full membership and WARM_S seconds:
 *   1. idle window (WINDOW_S): CPU per agent with no story requests;
 *   2. story window (WINDOW_S): RATE requests/s, each for a random target at a random
 *      node that does not check it; latency p50/p99/max, answer size, partial answers,
 *      and CPU per agent again (the difference is the cost of answering and fanning out).
 *
 *   bun bench/story.ts     (AGENTS=16 TARGETS=10000 RATE=20 WARM_S=20 WINDOW_S=20)
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AgentSet } from '../test/helpers/agents.ts'
import { ensureBinary } from '../test/helpers/binary.ts'
import { startFarmProc } from './lib/heck.ts'
import { benchDeadline, finish } from './lib/procs.ts'
import { cpuSeconds } from './lib/sys.ts'

const AGENTS = Number(process.env.AGENTS ?? 16)
const TARGETS = Number(process.env.TARGETS ?? 10_000)
const RATE = Number(process.env.RATE ?? 20)
const WARM_S = Number(process.env.WARM_S ?? 20)
const WINDOW_S = Number(process.env.WINDOW_S ?? 20)
benchDeadline((WARM_S + 2 * WINDOW_S + 180) * 1000)

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN

await finish(async () => {
  const farm = await startFarmProc(['--count', String(TARGETS)])
  const set = new AgentSet(await ensureBinary(), AGENTS, { names: 's', profile: 'lan' })
  try {
    const file = join(set.dir, 'targets.yaml')
    writeFileSync(file, await farm.targetsYaml(`count=${TARGETS}&interval=1000ms`))
    ;(set as unknown as { opts: { targetsPath: string } }).opts.targetsPath = file
    set.startAll()
    await set.waitConverged(120_000)
    await Bun.sleep(WARM_S * 1000)
    const cpu = () => set.agents.map((a) => cpuSeconds(a.proc!.pid) ?? 0)
    const meanCpu = (a: number[], b: number[], s: number) => (b.reduce((x, y, i) => x + (y - (a[i] as number)), 0) / b.length / s) * 100

    const c0 = cpu()
    await Bun.sleep(WINDOW_S * 1000)
    const c1 = cpu()
    const idle = meanCpu(c0, c1, WINDOW_S)

    const lat: number[] = []
    const sizes: number[] = []
    let partial = 0
    let notOk = 0
    const t0 = performance.now()
    const inflight: Promise<void>[] = []
    for (let i = 0; performance.now() - t0 < WINDOW_S * 1000; i++) {
      const id = `t${Math.floor(Math.random() * TARGETS)}`
      const via = set.agents[Math.floor(Math.random() * AGENTS)]!
      inflight.push(
        (async () => {
          const own = (await set.get(via, `/v1/ownership?target=${id}`)).owners as string[]
          const asker = own[0] === via.name ? set.agents.find((a) => a.name !== own[0])! : via
          const s = performance.now()
          const r = await fetch(`${set.url(asker)}/v1/targets/${id}`)
          const text = await r.text()
          lat.push(performance.now() - s)
          sizes.push(text.length)
          if (!r.ok) notOk++
          else if ((JSON.parse(text) as { target: { partial?: boolean } }).target.partial) partial++
        })(),
      )
      await Bun.sleep(1000 / RATE)
    }
    await Promise.all(inflight)
    const c2 = cpu()
    const busy = meanCpu(c1, c2, (performance.now() - t0) / 1000)
    const load = (await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' ')
    console.log(`story: ${AGENTS} agents × ${TARGETS} targets at 1 s; ${lat.length} requests at ${RATE}/s to non-owners; load at end ${load}`)
    console.log(`latency p50 ${q(lat, 0.5).toFixed(1)} ms, p99 ${q(lat, 0.99).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms; answer ${Math.round(q(sizes, 0.5) / 1024)} KiB (median); partial ${partial}, not 200 ${notOk}`)
    console.log(`CPU per agent: ${idle.toFixed(1)}% idle window, ${busy.toFixed(1)}% with ${RATE} stories/s (+${(busy - idle).toFixed(1)} points; each story asks ${AGENTS - 1} members); gossip cost: none (nothing replicated for it)`)
    return 0
  } finally {
    await set.stopAll()
    await farm.stop()
  }
})
