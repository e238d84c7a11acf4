/**
 * Memory per target (issue 18): one agent, every target its own, against `heck farm`
 * in its own process.
 *
 *   1. RSS table: the compiled agent with 0, 1,000, 10,000 and 100,000 targets at 10 s
 *      (SIZES, INTERVAL_MS): RSS (max over the last 10 s of a WARM_S window, from
 *      /proc) and checks/s (heck_checks_total over those 10 s).
 *   2. Breakdown: the same agent assembled in this process from source
 *      (assembleAgent, real clock, UDP and HTTP prober, as `heck agent` does), with
 *      the JS heap (bun:jsc heapStats, after a full collection) read at each phase:
 *      started and empty; the targets applied (the registry in the replicated state,
 *      ownership, the scheduler's plan); then after two intervals of checks (health
 *      records, recent results, per-target metrics series, delta log). The object
 *      types that grew most are listed with their counts.
 *
 *   bun bench/memory.ts                 (SIZES=0,1000,10000,100000 WARM_S=40 BREAKDOWN=10000,100000)
 *   HECK_BIN=path bun bench/memory.ts   another build for part 1
 */
import { heapStats } from 'bun:jsc'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { assembleAgent } from '../src/agent/assemble.ts'
import { loadTargetsFile } from '../src/config/targets-file.ts'
import { Registry } from '../src/metrics/registry.ts'
import { fetchPoster } from '../src/runtime/http-post.ts'
import { createProber } from '../src/runtime/http-prober.ts'
import { randomRng } from '../src/runtime/random-rng.ts'
import { realClock } from '../src/runtime/real-clock.ts'
import { UdpTransport } from '../src/runtime/udp-transport.ts'
import { transportLimits } from '../src/gossip/membership.ts'
import { heckCommand, startAgent, startFarmProc, tmp } from './lib/heck.ts'
import { parseProm, sumOf } from './lib/prom.ts'
import { benchDeadline, finish } from './lib/procs.ts'
import { freePort, rssBytes } from './lib/sys.ts'

const SIZES = (process.env.SIZES ?? '0,1000,10000,100000').split(',').filter(Boolean).map(Number)
const BREAKDOWN = (process.env.BREAKDOWN ?? '10000,100000').split(',').filter(Boolean).map(Number)
const WARM_S = Number(process.env.WARM_S ?? 40)
const INTERVAL_MS = Number(process.env.INTERVAL_MS ?? 10_000)
const MiB = 1024 * 1024
const fmt = (b: number) => (b / MiB).toFixed(1)

benchDeadline((SIZES.length * (WARM_S + 30) + BREAKDOWN.length * (INTERVAL_MS / 1000) * 3 + 120) * 1000)

async function rssTable(farm: Awaited<ReturnType<typeof startFarmProc>>, dir: string) {
  const rows: string[] = []
  for (const n of SIZES) {
    const file = join(dir, `targets-${n}.yaml`)
    writeFileSync(file, await farm.targetsYaml(`count=${n}&interval=${INTERVAL_MS}ms`))
    const agent = await startAgent(file, { name: `mem-${n}`, readyTimeoutMs: 60_000 })
    await Bun.sleep((WARM_S - 10) * 1000)
    const c0 = sumOf(await agent.metrics(), 'heck_checks_total')
    const t0 = performance.now()
    let rss = 0
    while (performance.now() - t0 < 10_000) {
      rss = Math.max(rss, rssBytes(agent.pid) ?? 0)
      await Bun.sleep(500)
    }
    const rate = (sumOf(await agent.metrics(), 'heck_checks_total') - c0) / ((performance.now() - t0) / 1000)
    await agent.stop()
    const perTarget = n > 0 ? ` (${(rss / n / 1024).toFixed(2)} KiB per target)` : ''
    rows.push(`| ${n.toLocaleString('en')} | ${fmt(rss)} MiB${perTarget} | ${Math.round(rate).toLocaleString('en')} of ${Math.round((n * 1000) / INTERVAL_MS).toLocaleString('en')} |`)
    console.log(rows.at(-1))
  }
  return rows
}

type Counts = Record<string, number>
function heap(): { size: number; objects: number; counts: Counts } {
  Bun.gc(true)
  const h = heapStats()
  return { size: h.heapSize, objects: h.objectCount, counts: h.objectTypeCounts as Counts }
}

function grew(before: Counts, after: Counts, top = 8): string {
  return Object.entries(after)
    .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
    .filter(([, d]) => d > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, d]) => `${k} +${d.toLocaleString('en')}`)
    .join(', ')
}

async function breakdown(farm: Awaited<ReturnType<typeof startFarmProc>>, dir: string, n: number) {
  const file = join(dir, `bd-${n}.yaml`)
  writeFileSync(file, await farm.targetsYaml(`count=${n}&interval=${INTERVAL_MS}ms`))
  const targets = await loadTargetsFile(file)
  const metrics = new Registry()
  const transport = await UdpTransport.start({ bind: `127.0.0.1:${freePort()}`, ...transportLimits('lan') })
  const agent = assembleAgent(
    { name: 'bd', httpAddr: '127.0.0.1:1', profile: 'lan', keys: [], join: [], retryJoin: [], joinTimeoutMs: 1000, retryIntervalMs: 5000, maxConcurrentChecks: 1024 },
    { clock: realClock, rng: randomRng(), transport, prober: createProber({ version: 'bench', nodeName: 'bd' }), log: () => {}, metrics, post: fetchPoster },
  )
  await agent.start()
  await agent.joined
  const h0 = heap()
  const rss0 = rssBytes(process.pid) ?? 0
  agent.applyFile(targets)
  await Bun.sleep(3000)
  const h1 = heap()
  await Bun.sleep(2 * INTERVAL_MS)
  const h2 = heap()
  const rss2 = rssBytes(process.pid) ?? 0
  const series = metrics.render().split('\n').filter((l) => l && !l.startsWith('#')).length
  const checks = sumOf(parseProm(metrics.render()), 'heck_checks_total')
  await agent.stop()
  const per = (b: number) => (n > 0 ? `${((b / n) | 0).toLocaleString('en')} B/target` : '')
  console.log(`\nbreakdown at ${n.toLocaleString('en')} targets (${checks.toLocaleString('en')} checks done; ${series.toLocaleString('en')} metric series):`)
  console.log(`| phase | JS heap | growth | per target | objects that grew most |`)
  console.log(`|---|---|---|---|---|`)
  console.log(`| started, no targets | ${fmt(h0.size)} MiB | – | – | – |`)
  console.log(`| targets applied: registry (replicated), ownership, schedule | ${fmt(h1.size)} MiB | +${fmt(h1.size - h0.size)} MiB | ${per(h1.size - h0.size)} | ${grew(h0.counts, h1.counts)} |`)
  console.log(`| two intervals checked: health records, recent results, metrics, delta log | ${fmt(h2.size)} MiB | +${fmt(h2.size - h1.size)} MiB | ${per(h2.size - h1.size)} | ${grew(h1.counts, h2.counts)} |`)
  console.log(`process RSS ${fmt(rss0)} → ${fmt(rss2)} MiB (this process also holds the parsed targets file and the bench)`)
}

await finish(async () => {
  const dir = tmp('memory')
  const farm = await startFarmProc(['--count', String(Math.max(...SIZES, ...BREAKDOWN, 1))])
  console.log(`memory: one agent (${heckCommand().mode}), targets at ${INTERVAL_MS} ms, RSS max over the last 10 s of ${WARM_S} s; load ${(await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' ')}`)
  console.log('| targets | RSS | checks/s achieved |\n|---|---|---|')
  await rssTable(farm, dir)
  for (const n of BREAKDOWN) await breakdown(farm, dir, n)
  await farm.stop()
  return 0
})
