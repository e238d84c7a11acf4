/**
 * Push heartbeats (issue 15): how many `POST /v1/push/:id` one agent takes per
 * second, and how soon a heartbeat shows on every node of a cluster.
 *
 *   1. Rate: AGENTS agents (compiled binary, loopback, `--profile local`), TARGETS push
 *      targets; CONCURRENCY clients in this process push to the first agent for
 *      SECONDS, round-robin over all but 10 of the targets (so most pushes are handed
 *      to another owner, as a job that pushes to any node would). Prints pushes/s
 *      answered 200, failures, and the agent's CPU.
 *   2. Visibility, measured during that load: up to SAMPLES pushes, each to the next
 *      agent for one of the 10 other targets; each node's `GET /v1/targets/ID?local=1`
 *      is polled every 10 ms until its `last.pushed_at` is the push's `received_at`.
 *      Prints the time from the push's answer to the last node showing it.
 *
 *   bun bench/push.ts       (AGENTS=4 TARGETS=100 CONCURRENCY=64 SECONDS=30 SAMPLES=100)
 */
import { ensureBinary } from '../test/helpers/binary.ts'
import { AgentSet } from '../test/helpers/agents.ts'
import { cpuSeconds } from './lib/sys.ts'
import { benchDeadline, finish } from './lib/procs.ts'

const AGENTS = Number(process.env.AGENTS ?? 4)
const TARGETS = Number(process.env.TARGETS ?? 100)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64)
const SECONDS = Number(process.env.SECONDS ?? 30)
const SAMPLES = Number(process.env.SAMPLES ?? 100)
/** Targets the clients push to in a loop; the others are for the visibility samples. */
const HAMMERED = Math.max(1, TARGETS - 10)
benchDeadline((SECONDS + SAMPLES + 120) * 1000)

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN
}

await finish(async () => {
  const set = new AgentSet(await ensureBinary(), AGENTS, { names: 'push' })
  try {
    set.startAll()
    await set.waitConverged(60_000)
    const [a1] = set.agents
    for (let i = 0; i < TARGETS; i++) {
      const r = await fetch(`${set.url(a1!)}/v1/targets`, { method: 'POST', body: JSON.stringify({ id: `job${i}`, push: { grace: '1m' } }) })
      if (r.status !== 201) throw new Error(`adding job${i}: ${r.status} ${await r.text()}`)
    }
    await Bun.sleep(4000) // join settling and the registry everywhere
    const load = (await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' ')
    console.log(`push: ${AGENTS} agents, ${TARGETS} push targets; load ${load}`)

    // 1. Rate on one agent, and 2. visibility on every node measured meanwhile, on targets of their own.
    let ok = 0
    let failed = 0
    let n = 0
    const cpu0 = cpuSeconds(a1!.proc!.pid) ?? 0
    const t0 = performance.now()
    const end = t0 + SECONDS * 1000
    const hammer = Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < end) {
          const id = `job${n++ % HAMMERED}`
          try {
            const r = await fetch(`${set.url(a1!)}/v1/push/${id}`, { method: 'POST' })
            await r.arrayBuffer()
            if (r.status === 200) ok++
            else failed++
          } catch {
            failed++
          }
        }
      }),
    )
    const lags: number[] = []
    const sampler = (async () => {
      for (let s = 0; s < SAMPLES && performance.now() < end - 1000; s++) {
        const via = set.agents[s % AGENTS]!
        const id = `job${HAMMERED + (s % (TARGETS - HAMMERED))}`
        const r = await fetch(`${set.url(via)}/v1/push/${id}`, { method: 'POST' })
        const answeredAt = performance.now()
        const { received_at } = (await r.json()) as { received_at: number }
        const seen = await Promise.all(
          set.agents.map(async (a) => {
            for (const t = performance.now(); performance.now() - t < 10_000; ) {
              const d = (await (await fetch(`${set.url(a)}/v1/targets/${id}?local=1`)).json()) as { target?: { last?: { pushed_at?: number } } }
              if ((d.target?.last?.pushed_at ?? 0) >= received_at) return performance.now()
              await Bun.sleep(10)
            }
            return Number.POSITIVE_INFINITY
          }),
        )
        lags.push(Math.max(...seen) - answeredAt)
        await Bun.sleep(100)
      }
    })()
    await Promise.all([hammer, sampler])
    const secs = (performance.now() - t0) / 1000
    const cpu = ((cpuSeconds(a1!.proc!.pid) ?? 0) - cpu0) / secs
    console.log(`rate: ${Math.round(ok / secs)} pushes/s answered 200 on one agent (${CONCURRENCY} clients over ${HAMMERED} targets, ${secs.toFixed(1)} s), ${failed} failed; agent CPU ${(cpu * 100).toFixed(0)}% of a core`)
    const late = lags.filter((l) => l > 1000).length
    if (late > 0) console.log(`late samples (index: ms): ${lags.map((l, i) => [i, Math.round(l)]).filter(([, l]) => (l as number) > 1000).map(([i, l]) => `${i}: ${l}`).join(", ")}`)
    console.log(`visible on all ${AGENTS}: p50 ${q(lags, 0.5).toFixed(0)} ms, p99 ${q(lags, 0.99).toFixed(0)} ms, max ${Math.max(...lags).toFixed(0)} ms (n=${lags.length}); ${late} over 1 s`)
    console.log(`goals: ≥ 5,000 pushes/s: ${ok / secs >= 5000 ? 'PASS' : 'FAIL'}; p99 ≤ 1 s: ${q(lags, 0.99) <= 1000 ? 'PASS' : 'FAIL'}`)
    return 0
  } finally {
    await set.stopAll()
  }
})
