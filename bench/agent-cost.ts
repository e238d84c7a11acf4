/**
 * What one check costs an agent in a cluster, against one agent alone (issue 6:
 * 16 agents × 10,000 targets at 1 s must fit a small machine). Real `heck agent`
 * processes on loopback and a `heck farm` for the targets, all at a 1 s interval.
 *
 *   cluster: AGENTS agents, the targets file on the first only (the others get the
 *     registry by gossip, as bench/v2-cluster.ts does); after full membership, every
 *     target owned, and WARM_S seconds, CPU per agent (/proc/PID/stat utime+stime)
 *     and the farm's checks/s over WINDOW_S seconds.
 *   solo: one agent with the same file and no peers (the Version 1 path), same window.
 *
 * CPU per 1,000 checks/s is the figure to compare: cluster agents each check only
 * about TARGETS / AGENTS targets, so their absolute CPU is lower. It also rises as
 * the rate per agent falls (each timer and socket wake-up costs more than a check),
 * so SOLO_TARGETS=n runs the solo agent on the first n targets only: TARGETS / AGENTS
 * compares a cluster agent with one agent alone at the same rate. Also printed: CPU
 * by thread (the JS thread carries the binary's name; "HTTP Client" is fetch's I/O
 * thread; HeapHelper and mi-scavenger are the collector's and the allocator's), and
 * replicated-state deltas received by result and payload bytes in by kind.
 *
 *   bun bench/agent-cost.ts      (AGENTS=4 TARGETS=2000 WINDOW_S=20 WARM_S=10 PHASES=cluster,solo)
 *
 * PROF_DIR=dir runs the second agent of the cluster (and the solo agent) from source
 * under Bun's CPU profiler (`--cpu-prof --cpu-prof-md`, from its start); each is
 * stopped with SIGTERM after its window so the profiles are written to dir. Read the
 * `.cpuprofile` with `bun bench/lib/cpu-profile.ts` (sample counts, see there).
 * HECK_BIN / HECK_BENCH_SOURCE=1 pick the agent build as in bench/lib/heck.ts.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { benchDeadline, finish, spawnTracked, stopChild } from './lib/procs.ts'
import { heckCommand, ROOT, startFarmProc, tmp, waitFor200, writeTemp, type FarmProc } from './lib/heck.ts'
import { parseProm, sumOf, type Samples } from './lib/prom.ts'
import { cpuSeconds, freePort, loadavg, machine, MiB, rssBytes } from './lib/sys.ts'

const AGENTS = Number(process.env.AGENTS ?? 4)
const TARGETS = Number(process.env.TARGETS ?? 2000)
const WINDOW_S = Number(process.env.WINDOW_S ?? 20)
const WARM_S = Number(process.env.WARM_S ?? 10)
const PROFILE = process.env.PROFILE ?? 'lan'
const PHASES = (process.env.PHASES ?? 'cluster,solo').split(',')
const PROF_DIR = process.env.PROF_DIR
const SOLO_TARGETS = Number(process.env.SOLO_TARGETS ?? TARGETS)

type Proc = ReturnType<typeof spawnTracked>

/** CPU seconds per thread name (/proc/PID/task/TID), so the JS thread can be told from GC and I/O threads. */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>()
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim().replace(/\d+$/, '#')
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        out.set(comm, (out.get(comm) ?? 0) + (Number(rest[11]) + Number(rest[12])) / 100)
      } catch {
        // the thread ended
      }
    }
  } catch {
    // the process ended
  }
  return out
}
interface Agent { name: string; gossip: number; proc: Proc; base: string }

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length
const get = async (a: Agent, path: string): Promise<any> => (await fetch(`${a.base}${path}`, { signal: AbortSignal.timeout(10_000) })).json()
async function until(pred: () => Promise<boolean>, maxMs: number, stepMs = 250): Promise<boolean> {
  const t0 = performance.now()
  while (performance.now() - t0 < maxMs) {
    try {
      if (await pred()) return true
    } catch {
      // not yet
    }
    await Bun.sleep(stepMs)
  }
  return false
}

function spawnAgent(name: string, extra: string[], prof: boolean): Agent {
  const { cmd } = heckCommand()
  const http = freePort()
  const gossip = freePort()
  const base = prof && PROF_DIR ? [process.execPath, '--cpu-prof', '--cpu-prof-md', `--cpu-prof-dir=${PROF_DIR}/${name}`, join(ROOT, 'src/cli/main.ts')] : cmd
  const proc = spawnTracked([...base, 'agent', '--name', name, '--bind', `127.0.0.1:${gossip}`, '--http', `127.0.0.1:${http}`,
    '--profile', PROFILE, '--log-level', 'warn', ...extra], { stdout: 'ignore', stderr: 'inherit' })
  return { name, gossip, proc, base: `http://127.0.0.1:${http}` }
}

/** Measures CPU, RSS and gossip of the agents and the farm's checks over one window. */
async function window(label: string, agents: Agent[], farm: FarmProc, targets = TARGETS) {
  await fetch(`${farm.url}/admin/reset?what=counters`, { method: 'POST' })
  const cpu0 = agents.map((a) => cpuSeconds(a.proc.pid) ?? NaN)
  const th0 = agents.map((a) => threadCpu(a.proc.pid))
  const scrape = () => Promise.all(agents.map(async (a) => parseProm(await (await fetch(`${a.base}/metrics`)).text())))
  const m0 = await scrape()
  const g0 = m0.map((m) => sumOf(m, 'heck_gossip_bytes_total', { direction: 'out' }))
  const load0 = loadavg()
  const w0 = performance.now()
  await Bun.sleep(WINDOW_S * 1000)
  const st = await farm.stats('')
  const w = (performance.now() - w0) / 1000
  const cpu = agents.map((a, i) => ((cpuSeconds(a.proc.pid) ?? NaN) - (cpu0[i] as number)) / w)
  const threads = new Map<string, number>()
  agents.forEach((a, i) => {
    for (const [k, v] of threadCpu(a.proc.pid)) threads.set(k, (threads.get(k) ?? 0) + (v - (th0[i]?.get(k) ?? 0)) / w / agents.length)
  })
  const m1 = await scrape()
  const g1 = m1.map((m) => sumOf(m, 'heck_gossip_bytes_total', { direction: 'out' }))
  // Replicated-state traffic per agent per second: deltas received by result, payload bytes in by kind.
  const rate = (name: string, match: Record<string, string>) => mean(agents.map((_, i) => (sumOf(m1[i] as Samples, name, match) - sumOf(m0[i] as Samples, name, match)) / w))
  const crdt = [
    ...['applied', 'duplicate', 'held', 'rejected'].map((r) => `deltas ${r} ${rate('heck_gossip_deltas_total', { result: r }).toFixed(1)}/s`),
    ...['delta', 'sync', 'state'].map((k) => `${k} in ${(rate('heck_crdt_bytes_total', { direction: 'in', kind: k }) / 1024).toFixed(1)} KiB/s`),
  ]
  const rss = agents.map((a) => (rssBytes(a.proc.pid) ?? NaN) / MiB)
  const checksPerS = st.total / w
  const perAgent = checksPerS / agents.length
  const cpuMean = mean(cpu)
  const gossip = mean(agents.map((_, i) => ((g1[i] as number) - (g0[i] as number)) / w))
  const r = {
    label, agents: agents.length, targets, windowS: Math.round(w * 10) / 10,
    checksPerS: Math.round(checksPerS), cpuPerAgentPct: cpuMean * 100, cpuMaxPct: Math.max(...cpu) * 100,
    cpuPctPer1kChecks: (cpuMean * 100) / (perAgent / 1000), rssMiB: mean(rss), gossipOutKiBs: gossip / 1024,
    load: `${load0} → ${loadavg()}`,
  }
  console.log(`${label}: ${r.agents} agent(s) × ${targets} targets, ${r.windowS} s window: ${r.checksPerS} checks/s (expected ${targets}); ` +
    `CPU per agent ${r.cpuPerAgentPct.toFixed(2)} % mean (${cpu.map((c) => (c * 100).toFixed(1)).join(' ')}), ` +
    `${r.cpuPctPer1kChecks.toFixed(2)} % of a core per 1,000 checks/s; RSS ${r.rssMiB.toFixed(0)} MiB mean; gossip out ${r.gossipOutKiBs.toFixed(1)} KiB/s per agent; load ${r.load}`)
  if (agents.length > 1) console.log(`  replicated state per agent: ${crdt.join(', ')}`)
  console.log(`  CPU per agent by thread (% of a core, mean): ${[...threads].filter(([, v]) => v >= 0.0005).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v * 100).toFixed(2)}`).join(', ')}`)
  return r
}

async function clusterPhase(file: string, farm: FarmProc) {
  const agents: Agent[] = []
  for (let i = 0; i < AGENTS; i++) {
    const seed = agents[0]
    agents.push(spawnAgent(`n${i + 1}`, [...(i === 0 ? ['--targets', file] : []), ...(seed ? ['--retry-join', `127.0.0.1:${seed.gossip}`] : [])], i === 1))
  }
  for (const a of agents) await waitFor200(`${a.base}/healthz`, 60_000, 50)
  const formed = await until(async () => {
    for (const a of agents) {
      const m = (await get(a, '/v1/members')).members as Array<{ state: string; owned: number }>
      if (m.filter((x) => x.state === 'alive').length !== AGENTS || m.reduce((s, x) => s + x.owned, 0) !== TARGETS) return false
    }
    return true
  }, 90_000)
  if (!formed) throw new Error('the cluster did not form (or did not own every target) within 90 s')
  await Bun.sleep(WARM_S * 1000)
  const r = await window('cluster', agents, farm)
  // The profiled agent first, so its profile ends before the others leave.
  if (agents[1]) await stopChild(agents[1].proc, 8000)
  await Promise.all(agents.map((a) => stopChild(a.proc, 8000)))
  return r
}

async function soloPhase(file: string, farm: FarmProc) {
  const a = spawnAgent('solo', ['--targets', file], true)
  await waitFor200(`${a.base}/healthz`, 60_000, 50)
  await Bun.sleep(WARM_S * 1000)
  const r = await window('solo', [a], farm, SOLO_TARGETS)
  await stopChild(a.proc, 8000)
  return r
}

benchDeadline(15 * 60_000)
await finish(async () => {
  const { mode } = heckCommand()
  console.log(`agent-cost: ${machine()}; agent ${mode}; ${new Date().toISOString()}; load ${loadavg()}`)
  const farm = await startFarmProc(['--count', String(TARGETS)])
  const dir = tmp('agent-cost')
  const file = writeTemp(dir, 'targets.yaml', await farm.targetsYaml(`count=${TARGETS}&interval=1s`))
  const results = []
  for (const p of PHASES) {
    if (p === 'cluster') results.push(await clusterPhase(file, farm))
    else if (p === 'solo') {
      const soloFile = SOLO_TARGETS === TARGETS ? file : writeTemp(dir, 'solo.yaml', await farm.targetsYaml(`count=${SOLO_TARGETS}&interval=1s`))
      results.push(await soloPhase(soloFile, farm))
    }
    else throw new Error(`unknown phase ${p}`)
  }
  await farm.stop()
  if (process.env.JSON === '1') console.log(JSON.stringify(results))
  return 0
})
