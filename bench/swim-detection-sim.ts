/**
 * Crash detection on the deterministic simulator, many seeds, to judge protocol
 * changes without the noise of the shared machine: for each probe schedule (`ring`,
 * `shuffle`) and cluster size, crash one random non-seed member after the cluster has
 * converged and settled, and time (simulated ms after the crash) until the first
 * survivor suspects it, the first marks it dead and all survivors do. Also counts
 * live members wrongly marked dead. lan profile, 1–5 ms network, no loss unless LOSS.
 *
 *   bun bench/swim-detection-sim.ts                 (SEEDS=40 SIZES=16,48)
 *   CONFIG='{"suspicionMult":1.25}' bun bench/swim-detection-sim.ts
 */
import type { SwimConfig } from '../src/membership/config.ts'
import { SwimSim } from '../test/sim/swim-sim.ts'

const SEEDS = Number(process.env.SEEDS ?? 40)
const SIZES = (process.env.SIZES ?? '16,48').split(',').map(Number)
const LOSS = Number(process.env.LOSS ?? 0)
const SCHEDULES = (process.env.SCHEDULES ?? 'shuffle,ring').split(',') as Array<SwimConfig['probeSchedule']>
const extra = JSON.parse(process.env.CONFIG ?? '{}') as Partial<SwimConfig>

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN
}
const fmt = (xs: number[]) => `p50 ${q(xs, 0.5).toFixed(0)} · p90 ${q(xs, 0.9).toFixed(0)} · max ${q(xs, 1).toFixed(0)}`

async function once(n: number, schedule: SwimConfig['probeSchedule'], seed: number) {
  const c = new SwimSim({ seed, n, log: false, config: { ...extra, probeSchedule: schedule } })
  c.net.conditions = { minDelayMs: 1, maxDelayMs: 5, loss: LOSS, duplicate: 0 }
  await c.startAll(2000)
  if ((await c.runUntil(() => c.converged(), 30_000)) < 0) throw new Error(`n=${n} seed ${seed}: no convergence`)
  await c.run(5000 + (seed % 10) * 97)
  const victim = 1 + (seed % (n - 1))
  const name = c.node(victim).name
  let suspectedAt = Number.POSITIVE_INFINITY
  for (const node of c.nodes) {
    node.onChange((m) => {
      if (m.name === name && m.state === 'suspect') suspectedAt = Math.min(suspectedAt, c.clock.monotonic())
    })
  }
  const fpBefore = c.falsePositives.length
  const t0 = c.clock.monotonic()
  c.crash(victim)
  if ((await c.runUntil(() => c.allSee(name, ['dead']), 60_000)) < 0) throw new Error(`n=${n} seed ${seed}: not detected`)
  const seen = [...(c.deadSeen.get(name)?.values() ?? [])].map((t) => t - t0)
  return { suspect: suspectedAt - t0, first: Math.min(...seen), all: Math.max(...seen), falseDeaths: c.falsePositives.length - fpBefore }
}

console.log(`# SWIM crash detection, simulator, lan profile, ${SEEDS} seeds, loss ${LOSS}, overrides ${JSON.stringify(extra)}`)
for (const n of SIZES) {
  for (const schedule of SCHEDULES) {
    const rs = []
    for (let s = 1; s <= SEEDS; s++) rs.push(await once(n, schedule, 1000 + s))
    const fd = rs.reduce((a, r) => a + r.falseDeaths, 0)
    console.log(`n=${n} ${schedule.padEnd(7)} first suspect ${fmt(rs.map((r) => r.suspect))} | first dead ${fmt(rs.map((r) => r.first))} | all dead ${fmt(rs.map((r) => r.all))} | false deaths ${fd}`)
  }
}
