/**
 * Version 1 maximum check rate, side by side in one run against the same
 * `heck farm`: prometheus-blackbox-exporter (a new connection per probe, driven
 * by concurrent /probe requests), then heck with reused connections, then heck
 * with a new connection per check. Each heck phase raises the offered load
 * (targets at one interval) level by level until the agent falls below 90% of
 * it; its figure is the best level's good checks/s: received by the farm and
 * counted ok by the agent (a check that timed out is not a check). Goals (issue 2): reuse ≥ 10×
 * blackbox, new ≥ 2× blackbox. With --rounds R the three take turns R times
 * (so a noisy spell on the shared machine hits all of them) and medians are compared.
 *
 *   bun bench/v1-max-rate.ts [--rounds 1] [--duration 15] [--bb-concurrency 16,64] [--skip blackbox,reuse,new]
 *     [--reuse-rates 10000,20000,40000] [--new-rates 2500,5000,10000,20000] [--interval 1s]
 *
 * Installs the Debian package prometheus-blackbox-exporter when its binary is
 * missing (needs root), and runs it on a loopback port with its own config, not
 * as a service. Uses wrk to drive blackbox when installed, else a Bun client loop.
 */
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { parseDuration } from '../src/config/duration.ts'
import { driveBlackbox, startBlackbox } from './lib/blackbox.ts'
import { heckCommand, startAgent, startFarmProc, tmp, writeTemp, type FarmProc } from './lib/heck.ts'
import { benchDeadline, finish } from './lib/procs.ts'
import { sumOf } from './lib/prom.ts'
import { cpuSeconds, loadavg, machine, MiB, rssSampler } from './lib/sys.ts'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    'bb-concurrency': { type: 'string', default: '16,64' },
    'reuse-rates': { type: 'string', default: '10000,20000,40000' },
    'new-rates': { type: 'string', default: '2500,5000,10000,20000' },
    interval: { type: 'string', default: '1s' },
    rounds: { type: 'string', default: '1' },
    skip: { type: 'string', default: '' },
  },
})
const durationS = Number(values.duration)
const warmupS = Number(values.warmup)
const skip = new Set(values.skip.split(',').filter(Boolean))
const bbConc = values['bb-concurrency'].split(',').map(Number)
const rounds = Number(values.rounds)
const intervalMs = parseDuration(values.interval) as number
const reuseRates = values['reuse-rates'].split(',').map(Number)
const newRates = values['new-rates'].split(',').map(Number)
const maxTargets = Math.ceil((Math.max(...reuseRates, ...newRates) * intervalMs) / 1000)
const steps = reuseRates.length + newRates.length
benchDeadline((rounds * (bbConc.length * (durationS + 10) + steps * (durationS + warmupS + 20)) + 120) * 1000)

interface PhaseResult {
  rate: number
  offered?: number
  agentCpu?: number
  farmCpu: number
  note: string
  /** The highest level offered was still met: the figure is a lower bound. */
  unsaturated?: boolean
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** One load level: `rate` targets per second of interval, all due every `interval`. */
async function heckStep(farm: FarmProc, dir: string, connection: 'reuse' | 'new', offered: number): Promise<PhaseResult> {
  const targets = Math.ceil((offered * intervalMs) / 1000)
  const file = writeTemp(dir, `targets-${connection}-${targets}.yaml`, await farm.targetsYaml(`count=${targets}&interval=${values.interval}&connection=${connection}`))
  const agent = await startAgent(file, { name: `bench-${connection}` })
  const rss = rssSampler(agent.pid)
  await Bun.sleep(warmupS * 1000)
  const [f0, m0, a0, c0] = [await farm.stats(), await agent.metrics(), cpuSeconds(agent.pid) ?? 0, cpuSeconds(farm.pid) ?? 0]
  const t0 = performance.now()
  await Bun.sleep(durationS * 1000)
  const [f1, m1, a1, c1] = [await farm.stats(), await agent.metrics(), cpuSeconds(agent.pid) ?? 0, cpuSeconds(farm.pid) ?? 0]
  const s = (performance.now() - t0) / 1000
  rss.stop()
  await agent.stop()
  const checks = sumOf(m1, 'heck_checks_total') - sumOf(m0, 'heck_checks_total')
  const ok = sumOf(m1, 'heck_checks_total', { result: 'ok' }) - sumOf(m0, 'heck_checks_total', { result: 'ok' })
  const received = (f1.total - f0.total) / s
  // A check counts when the farm received it and the agent saw it succeed (a timed-out check is no check).
  const rate = Math.min(received, ok / s)
  return {
    rate,
    offered,
    agentCpu: ((a1 - a0) / s) * 100,
    farmCpu: ((c1 - c0) / s) * 100,
    note: `${targets} targets @ ${values.interval}: offered ${offered}/s, farm received ${received.toFixed(0)}/s, agent ok ${(ok / s).toFixed(0)}/s, failed ${((checks - ok) / s).toFixed(0)}/s; RSS max ${(rss.max() / MiB).toFixed(0)} MiB`,
  }
}

/** Raises the load level by level until the agent stops keeping up; the best successful rate wins. */
async function heckRamp(farm: FarmProc, dir: string, connection: 'reuse' | 'new', rates: number[]): Promise<PhaseResult | undefined> {
  let best: PhaseResult | undefined
  let saturated = false
  for (const offered of rates) {
    const r = await heckStep(farm, dir, connection, offered)
    console.log(`  heck ${connection} @ ${offered}/s: ${r.rate.toFixed(0)} good checks/s; agent CPU ${r.agentCpu?.toFixed(0)}%, farm CPU ${r.farmCpu.toFixed(0)}%; ${r.note}`)
    if (!best || r.rate > best.rate) best = r
    await Bun.sleep(2000)
    if (r.rate < 0.9 * offered) {
      saturated = true
      break // more load only adds timeouts
    }
  }
  if (best && !saturated) best.unsaturated = true
  return best
}

async function runRound(farm: FarmProc, dir: string): Promise<Record<string, PhaseResult>> {
  const results: Record<string, PhaseResult> = {}

  if (!skip.has('blackbox')) {
    const bb = await startBlackbox(dir)
    console.log(`blackbox: ${bb.version} pid ${bb.pid} at ${bb.url}; driver: ${existsSync('/usr/bin/wrk') || Bun.which('wrk') ? 'wrk' : 'bun fetch loop'}`)
    let best: PhaseResult | undefined
    for (const c of bbConc) {
      const f0 = await farm.stats()
      const [b0, c0] = [cpuSeconds(bb.pid) ?? 0, cpuSeconds(farm.pid) ?? 0]
      const t0 = performance.now()
      const d = await driveBlackbox(bb.url, farm.url, c, durationS, maxTargets)
      const s = (performance.now() - t0) / 1000
      const f1 = await farm.stats()
      const [b1, c1] = [cpuSeconds(bb.pid) ?? 0, cpuSeconds(farm.pid) ?? 0]
      const r: PhaseResult = {
        rate: (f1.total - f0.total) / s,
        agentCpu: ((b1 - b0) / s) * 100,
        farmCpu: ((c1 - c0) / s) * 100,
        note: `concurrency ${c}; driver saw ${d.requests} probe answers (${d.failed} not probe_success 1 in ${d.sampled} sampled)`,
      }
      console.log(`  blackbox c=${c}: ${r.rate.toFixed(0)} probes/s (farm-counted); blackbox CPU ${r.agentCpu?.toFixed(0)}%, farm CPU ${r.farmCpu.toFixed(0)}%; ${r.note}`)
      if (!best || r.rate > best.rate) best = r
      await Bun.sleep(2000) // let TIME_WAIT and CPU settle between runs
    }
    if (best) results.blackbox = best
    await bb.stop()
  }
  if (!skip.has('reuse')) {
    const r = await heckRamp(farm, dir, 'reuse', reuseRates)
    if (r) results.reuse = r
  }
  if (!skip.has('new')) {
    const r = await heckRamp(farm, dir, 'new', newRates)
    if (r) results.new = r
  }
  return results
}

await finish(async () => {
  console.log(`v1-max-rate: ${durationS} s per phase after ${warmupS} s warm-up (heck phases)`)
  console.log(`machine: ${machine()}; load average ${loadavg()}`)
  console.log(`agent: ${heckCommand().mode}`)
  const farm = await startFarmProc(['--count', String(maxTargets)])
  console.log(`farm pid ${farm.pid} at ${farm.url}`)
  const dir = tmp('max-rate')
  const all: Record<string, PhaseResult[]> = { blackbox: [], reuse: [], new: [] }
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) console.log(`round ${round} of ${rounds} (load average ${loadavg()})`)
    const results = await runRound(farm, dir)
    for (const [k, r] of Object.entries(results)) all[k]?.push(r)
  }
  await farm.stop()

  console.log(`\nresults (good checks/s: received by the farm and, for heck, ok in the agent; best level per round; load average at end ${loadavg()}):`)
  const med: Record<string, number> = {}
  for (const [k, rs] of Object.entries(all)) {
    if (rs.length === 0) continue
    med[k] = median(rs.map((r) => r.rate))
    const each = rs.length > 1 ? ` (median of ${rs.map((r) => r.rate.toFixed(0)).join(', ')})` : ''
    const ratio = all.blackbox?.length && k !== 'blackbox' ? `  = ${((med[k] as number) / (med.blackbox ?? median(all.blackbox.map((r) => r.rate)))).toFixed(1)}× blackbox` : ''
    const bound = rs.some((r) => r.unsaturated) ? '  (a lower bound: the highest level offered did not saturate heck)' : ''
    console.log(`  ${k.padEnd(9)} ${(med[k] as number).toFixed(0).padStart(7)}${ratio}${each}${bound}`)
  }
  const bbRate = med.blackbox
  if (!bbRate) return 0
  const goals: Array<[string, boolean]> = []
  if (med.reuse !== undefined) goals.push(['reuse ≥ 10× blackbox', med.reuse >= 10 * bbRate])
  if (med.new !== undefined) goals.push(['new ≥ 2× blackbox', med.new >= 2 * bbRate])
  console.log(`goals: ${goals.map(([g, pass]) => `${g}: ${pass ? 'PASS' : 'FAIL'}`).join('; ')}`)
  return goals.every(([, pass]) => pass) ? 0 : 1
})
