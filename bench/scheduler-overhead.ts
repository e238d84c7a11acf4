/**
 * Scheduler overhead alone: the real clock, a prober that answers at once (no
 * I/O), N targets at one interval. Prints achieved checks/s, lag p99, CPU per
 * check and RSS, so the poller's own cost can be told apart from fetch's.
 *
 *   bun bench/scheduler-overhead.ts [--targets 100000] [--interval-ms 1000] [--seconds 10]
 */
import type { Target } from '../src/config/types.ts'
import { Registry } from '../src/metrics/registry.ts'
import type { ProbeOutcome } from '../src/poller/prober.ts'
import { Scheduler } from '../src/poller/scheduler.ts'
import { realClock } from '../src/runtime/real-clock.ts'
import { SeededRng } from '../src/seams/rng.ts'

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : dflt
}
const N = Number(arg('targets', '100000'))
const intervalMs = Number(arg('interval-ms', '1000'))
const seconds = Number(arg('seconds', '10'))

const targets: Target[] = Array.from({ length: N }, (_, i) => ({
  id: `t${i}`,
  check: { kind: 'tcp', host: '127.0.0.1', port: 1 },
  intervalMs,
  timeoutMs: Math.floor(intervalMs * 0.8),
  rise: 2,
  fall: 3,
  expect: { status: [] },
  connection: 'reuse',
}))
const ok: ProbeOutcome = { ok: true, latencyMs: 0.1 }
let checks = 0
const lags: number[] = []
let measuring = false
const sched = new Scheduler({
  clock: realClock,
  rng: new SeededRng(1),
  prober: { probe: () => Promise.resolve(ok) },
  metrics: new Registry(),
  onResult: (_t, _o, info) => {
    if (!measuring) return
    checks++
    lags.push(info.lagMs)
  },
})
const s0 = performance.now()
sched.setTargets(targets)
const setMs = performance.now() - s0
await Bun.sleep(intervalMs)
measuring = true
const cpu0 = process.cpuUsage()
const w0 = performance.now()
await Bun.sleep(seconds * 1000)
measuring = false
const wall = (performance.now() - w0) / 1000
const cpu = process.cpuUsage(cpu0)
const rss = process.memoryUsage().rss
await sched.stop()
lags.sort((a, b) => a - b)
const p = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? Number.NaN
const cpuS = (cpu.user + cpu.system) / 1e6
console.log(`scheduler-overhead: ${N} targets every ${intervalMs} ms, instant prober, ${seconds} s`)
console.log(`  setTargets    ${setMs.toFixed(0)} ms for ${N} targets`)
console.log(`  checks/s      ${(checks / wall).toFixed(0)} (expected ${((N * 1000) / intervalMs).toFixed(0)})`)
console.log(`  lag p50/p99   ${p(0.5).toFixed(2)} / ${p(0.99).toFixed(2)} ms`)
console.log(`  CPU           ${((cpuS / wall) * 100).toFixed(0)}% of one core, ${((cpuS / checks) * 1e6).toFixed(2)} µs per check`)
console.log(`  RSS           ${(rss / 1048576).toFixed(0)} MiB`)
process.exit(0)
