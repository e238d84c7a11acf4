/**
 * Poller throughput: the Scheduler plus the real prober, in this process,
 * against a trivial Bun.serve in a child process on loopback. N targets at one
 * interval for a fixed time; prints achieved checks/s, schedule lag p50/p99,
 * peak RSS and CPU of the poller process (and the server's CPU).
 *
 *   bun bench/poller-throughput.ts [--targets 10000] [--interval-ms 1000] [--seconds 20] [--mode reuse|new] [--cap 1024]
 *
 * The first interval (first checks spreading in) is excluded from the figures.
 * The full agent-vs-blackbox benchmark is bench/v1-throughput.ts; this one
 * isolates the poller.
 */
import { readFileSync } from 'node:fs'
import type { ConnectionMode, Target } from '../src/config/types.ts'
import { Registry } from '../src/metrics/registry.ts'
import { Scheduler } from '../src/poller/scheduler.ts'
import { realClock } from '../src/runtime/real-clock.ts'
import { createProber } from '../src/runtime/http-prober.ts'
import { randomRng } from '../src/runtime/random-rng.ts'

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : dflt
}
const N = Number(arg('targets', '10000'))
const intervalMs = Number(arg('interval-ms', '1000'))
const seconds = Number(arg('seconds', '20'))
const mode = arg('mode', 'reuse') as ConnectionMode
const cap = Number(arg('cap', '1024'))

const SERVER = `
const ports = new Set()
const s = Bun.serve({ hostname: '127.0.0.1', port: 0, idleTimeout: 0, fetch(req, srv) {
  if (req.url.endsWith('/__conns')) return new Response(String(ports.size))
  const ip = srv.requestIP(req); if (ip) ports.add(ip.port)
  return new Response('ok')
} })
console.log(s.port)
`
const child = Bun.spawn([process.execPath, '-e', SERVER], { stdout: 'pipe', stderr: 'inherit' })
const reader = child.stdout.getReader()
const first = await reader.read()
const port = Number(new TextDecoder().decode(first.value).trim())
if (!port) throw new Error('server did not start')

/** utime+stime of a process, in seconds, from /proc (Linux). */
function procCpuS(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
    return (Number(rest[11]) + Number(rest[12])) / 100
  } catch {
    return Number.NaN
  }
}

const targets: Target[] = Array.from({ length: N }, (_, i) => ({
  id: `t${i}`,
  check: { kind: 'http', url: `http://127.0.0.1:${port}/t${i}`, method: 'GET', headers: {} },
  intervalMs,
  timeoutMs: Math.floor(intervalMs * 0.8),
  rise: 2,
  fall: 3,
  expect: { status: [] },
  connection: mode,
}))

const t0 = performance.now()
const warmEnd = t0 + intervalMs
const end = warmEnd + seconds * 1000
let checks = 0
let failures = 0
const lags: number[] = []
const latencies: number[] = []
const errors = new Map<string, number>()
const metrics = new Registry()
const sched = new Scheduler({
  clock: realClock,
  rng: randomRng(),
  prober: createProber({ version: 'bench', nodeName: 'bench' }),
  metrics,
  maxConcurrent: cap,
  onResult: (_t, o, info) => {
    const now = performance.now()
    if (now < warmEnd || now >= end) return
    checks++
    lags.push(info.lagMs)
    latencies.push(o.latencyMs)
    if (!o.ok) {
      failures++
      const e = o.error ?? 'unknown'
      errors.set(e, (errors.get(e) ?? 0) + 1)
    }
  },
})

sched.setTargets(targets)
let peakRss = 0
const sample = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
}, 250)
// Event-loop stalls (the process got no CPU, or GC): a 10 ms timer that notes how late it fires.
let lastTick = performance.now()
let maxStall = 0
const stallProbe = setInterval(() => {
  const now = performance.now()
  if (now >= warmEnd && now < end) maxStall = Math.max(maxStall, now - lastTick - 10)
  lastTick = now
}, 10)
await Bun.sleep(intervalMs)
const cpu0 = process.cpuUsage()
const srvCpu0 = procCpuS(child.pid)
const w0 = performance.now()
await Bun.sleep(end - performance.now())
const wall = (performance.now() - w0) / 1000
const cpu = process.cpuUsage(cpu0)
const srvCpu = procCpuS(child.pid) - srvCpu0
clearInterval(sample)
clearInterval(stallProbe)
peakRss = Math.max(peakRss, process.memoryUsage().rss)
await sched.stop()
const conns = await (await fetch(`http://127.0.0.1:${port}/__conns`)).text()
child.kill()

lags.sort((a, b) => a - b)
latencies.sort((a, b) => a - b)
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? Number.NaN
const q = (p: number) => pct(lags, p)
const expected = (N * 1000) / intervalMs
const rate = checks / seconds
console.log(`poller-throughput: ${N} targets every ${intervalMs} ms, mode ${mode}, cap ${cap}, ${seconds} s measured (after a ${intervalMs} ms warm-up)`)
console.log(`  checks/s      ${rate.toFixed(0)} (expected ${expected.toFixed(0)}, ${((100 * rate) / expected).toFixed(2)}%)`)
console.log(`  failures      ${failures}${errors.size ? ` ${JSON.stringify(Object.fromEntries(errors))}` : ''}`)
console.log(`  lag p50/p99/max  ${q(0.5).toFixed(2)} / ${q(0.99).toFixed(2)} / ${(lags[lags.length - 1] ?? Number.NaN).toFixed(2)} ms`)
console.log(`  check latency p50/p99  ${pct(latencies, 0.5).toFixed(2)} / ${pct(latencies, 0.99).toFixed(2)} ms`)
console.log(`  loop stall    max ${maxStall.toFixed(0)} ms (a 10 ms timer's worst lateness)`)
console.log(`  peak RSS      ${(peakRss / 1048576).toFixed(0)} MiB`)
console.log(`  poller CPU    ${((cpu.user + cpu.system) / 1e6 / wall * 100).toFixed(0)}% of one core (user ${(cpu.user / 1e6).toFixed(1)} s, sys ${(cpu.system / 1e6).toFixed(1)} s over ${wall.toFixed(1)} s)`)
console.log(`  connections   ${conns} distinct client ports seen by the server over the whole run`)
console.log(`  server CPU    ${((srvCpu / wall) * 100).toFixed(0)}% of one core`)
if (process.env.BENCH_HEAP) {
  const { heapStats } = await import('bun:jsc')
  const h = heapStats()
  console.log(`  JS heap       ${(h.heapSize / 1048576).toFixed(0)} MiB used of ${(h.heapCapacity / 1048576).toFixed(0)} MiB; objects ${h.objectCount}`)
}
process.exit(0)
