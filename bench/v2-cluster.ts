/**
 * Version 2 at scale (issue 6 "What it must show"): AGENTS real `heck agent`
 * processes on loopback (lan profile) watching TARGETS farm endpoints at 1 s, then
 * HashiCorp Serf's bare failure detection at the same size in the same run.
 *
 *   steady window: checks per target (farm counts), checkers per target, CPU and RSS
 *     per agent, gossip bytes/s per agent (heck_gossip_bytes_total);
 *   dissemination: CHANGES targets flipped to failing and back; for each status change,
 *     the time from the owner's own `health` event to the last of all agents' (SSE);
 *   SIGKILL of the busiest non-seed agent: time until every survivor marks it dead, the
 *     coverage gap of its targets (farm: next owner's first check − its last check) and
 *     "owner died → its targets checked again" (next owner's first check − kill time);
 *   Serf: AGENTS `serf agent` (lan), one SIGKILLed, time until every survivor logs
 *     EventMemberFailed; and `serf event` ×CHANGES, time until every agent logs it.
 *
 *   bun bench/v2-cluster.ts            (AGENTS=16 TARGETS=10000 WINDOW_S=20 CHANGES=20 SERF=1)
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { benchDeadline, finish, spawnTracked, stopChild } from './lib/procs.ts'
import { heckCommand, startFarmProc, tmp, waitFor200, writeTemp } from './lib/heck.ts'
import { parseProm, sumOf } from './lib/prom.ts'
import { cpuSeconds, freePort, loadavg, machine, MiB, rssBytes } from './lib/sys.ts'

/** The kernel's UDP counters (Linux /proc/net/snmp): datagrams in, and those dropped for a full socket buffer. */
function udpCounters(): { InDatagrams: number; RcvbufErrors: number } {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'))
    const names = (lines[0] ?? '').split(/\s+/)
    const vals = (lines[1] ?? '').split(/\s+/).map(Number)
    const get = (n: string) => vals[names.indexOf(n)] ?? NaN
    return { InDatagrams: get('InDatagrams'), RcvbufErrors: get('RcvbufErrors') }
  } catch {
    return { InDatagrams: NaN, RcvbufErrors: NaN }
  }
}

const AGENTS = Number(process.env.AGENTS ?? 16)
const TARGETS = Number(process.env.TARGETS ?? 10_000)
const INTERVAL_MS = 1000
const WINDOW_S = Number(process.env.WINDOW_S ?? 20)
const CHANGES = Number(process.env.CHANGES ?? 20)
const PROFILE = process.env.PROFILE ?? 'lan'
const SERF = process.env.SERF !== '0'
/**
 * Which agents get the targets file: `seed` (default) gives it to the first agent
 * only, and the registry reaches the others by gossip; `all` gives it to every
 * agent. With `all`, every agent checks every target until it has joined (a cluster
 * of one watches everything), so 16 agents × 10,000 targets started at once ask
 * 160,000 checks/s of this 2-core machine, and the cluster never formed here.
 */
const FILE_ON = process.env.FILE_ON ?? 'seed'

type Proc = ReturnType<typeof spawnTracked>
interface Agent { name: string; http: number; gossip: number; proc: Proc; base: string }

const q = (xs: number[], p: number) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN
}
const fmt = (xs: number[], unit = 'ms') =>
  `p50 ${Math.round(q(xs, 0.5))} ${unit}, p99 ${Math.round(q(xs, 0.99))} ${unit}, max ${Math.round(q(xs, 1))} ${unit} (n=${xs.filter(Number.isFinite).length})`
const get = async (a: Agent, path: string): Promise<any> => (await fetch(`${a.base}${path}`, { signal: AbortSignal.timeout(10_000) })).json()
async function until(pred: () => Promise<boolean> | boolean, maxMs: number, stepMs = 200): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < maxMs) {
    try {
      if (await pred()) return performance.now() - t0
    } catch {
      // not yet
    }
    await Bun.sleep(stepMs)
  }
  return NaN
}

/** Follows /v1/events of one agent; calls onHealth(id, status, at) for each health event. */
function follow(a: Agent, onHealth: (id: string, status: string, at: number) => void): AbortController {
  const ac = new AbortController()
  void (async () => {
    const r = await fetch(`${a.base}/v1/events`, { signal: ac.signal })
    const dec = new TextDecoder()
    let buf = ''
    for await (const chunk of r.body as ReadableStream<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true })
      let i: number
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        if (!block.includes('event: health')) continue
        const data = /data: (.*)/.exec(block)?.[1]
        if (!data) continue
        const e = JSON.parse(data) as { id?: string; status?: string; data?: { id: string; status: string } }
        const ev = e.id ? e : (e.data ?? e)
        if (ev.id && ev.status) onHealth(ev.id, ev.status, performance.now())
      }
    }
  })().catch(() => {})
  return ac
}

async function heckPhase(dir: string) {
  const { cmd, mode } = heckCommand()
  const farm = await startFarmProc(['--count', String(TARGETS)])
  const file = writeTemp(dir, 'targets.yaml', await farm.targetsYaml(`count=${TARGETS}&interval=1s`))
  const agents: Agent[] = []
  const t0 = performance.now()
  for (let i = 0; i < AGENTS; i++) {
    const http = freePort()
    const gossip = freePort()
    const name = `n${i + 1}`
    const seed = agents[0]
    const proc = spawnTracked([...cmd, 'agent', '--name', name, '--bind', `127.0.0.1:${gossip}`, '--http', `127.0.0.1:${http}`,
      ...(FILE_ON === 'all' || i === 0 ? ['--targets', file] : []), '--profile', PROFILE, '--log-level', 'warn', ...(seed ? ['--retry-join', `127.0.0.1:${seed.gossip}`] : [])], { stdout: 'ignore', stderr: 'inherit' })
    agents.push({ name, http, gossip, proc, base: `http://127.0.0.1:${http}` })
  }
  for (const a of agents) await waitFor200(`${a.base}/healthz`, 60_000, 50)
  const fullMs = await until(async () => {
    for (const a of agents) {
      const m = (await get(a, '/v1/members')).members as Array<{ state: string }>
      if (m.filter((x) => x.state === 'alive').length !== AGENTS) return false
    }
    return true
  }, 120_000, 250)
  console.log(`heck (${mode}): ${AGENTS} agents up; full membership ${Math.round(fullMs + 0)} ms after /healthz of all (${Math.round(performance.now() - t0)} ms after the first spawn)`)
  // Warm up: every agent's ownership covers all targets, then let start-up double checks die out.
  await until(async () => {
    const m = (await get(agents[0] as Agent, '/v1/members')).members as Array<{ owned: number }>
    return m.reduce((s, x) => s + x.owned, 0) === TARGETS
  }, 60_000, 500)
  await Bun.sleep(5000)

  // ---- steady window ----
  await fetch(`${farm.url}/admin/reset?what=counters`, { method: 'POST' })
  const cpu0 = agents.map((a) => cpuSeconds(a.proc.pid) ?? NaN)
  const m0 = await Promise.all(agents.map(async (a) => parseProm(await (await fetch(`${a.base}/metrics`)).text())))
  const udp0 = udpCounters()
  const w0 = performance.now()
  await Bun.sleep(WINDOW_S * 1000)
  const st = await farm.stats('')
  const w = (performance.now() - w0) / 1000
  const cpu1 = agents.map((a) => cpuSeconds(a.proc.pid) ?? NaN)
  const m1 = await Promise.all(agents.map(async (a) => parseProm(await (await fetch(`${a.base}/metrics`)).text())))
  const rss = agents.map((a) => (rssBytes(a.proc.pid) ?? NaN) / MiB)
  const cpu = agents.map((_, i) => ((cpu1[i] as number) - (cpu0[i] as number)) / w)
  const gossipOut = agents.map((_, i) => (sumOf(m1[i] as Map<string, number>, 'heck_gossip_bytes_total', { direction: 'out' }) - sumOf(m0[i] as Map<string, number>, 'heck_gossip_bytes_total', { direction: 'out' })) / w)
  const gossipIn = agents.map((_, i) => (sumOf(m1[i] as Map<string, number>, 'heck_gossip_bytes_total', { direction: 'in' }) - sumOf(m0[i] as Map<string, number>, 'heck_gossip_bytes_total', { direction: 'in' })) / w)
  const crdtKinds: Record<string, number> = {}
  for (const kind of ['delta', 'sync', 'state'])
    crdtKinds[kind] = agents.reduce((sum, _, i) => sum + sumOf(m1[i] as Map<string, number>, 'heck_crdt_bytes_total', { direction: 'out', kind }) - sumOf(m0[i] as Map<string, number>, 'heck_crdt_bytes_total', { direction: 'out', kind }), 0) / w / AGENTS
  // Repair state at the end of the window: deltas held, dots known missing, sync replies cut short.
  const total = (name: string, labels?: Record<string, string>) => m1.reduce((s, m) => s + sumOf(m, name, labels), 0)
  const deltaOf = (name: string, labels: Record<string, string>) => total(name, labels) - m0.reduce((s, m) => s + sumOf(m, name, labels), 0)
  const deferredIn = (reason: string) => deltaOf('heck_crdt_sync_deferred_total', { reason })
  const udp1 = udpCounters()
  const queues = m1.map((m) => sumOf(m, 'heck_crdt_broadcast_queue'))
  console.log(
    `repair at the end of the window (all agents): ${total('heck_crdt_held_deltas')} deltas held, ${total('heck_crdt_missing_dots')} dots known missing; ` +
      `sync replies during it: ${deltaOf('heck_crdt_sync_replies_total', { kind: 'deltas' })} of deltas, ${deltaOf('heck_crdt_sync_replies_total', { kind: 'full' })} full states; cut short: ${deferredIn('budget')} by the byte budget, ${deferredIn('full')} full states deferred; ` +
      `deltas rejected during it ${deltaOf('heck_gossip_deltas_total', { result: 'rejected' })}; ` +
      `broadcast queues max ${Math.max(...queues)}; UDP during it (whole machine): ${udp1.InDatagrams - udp0.InDatagrams} in, ${udp1.RcvbufErrors - udp0.RcvbufErrors} dropped for a full receive buffer`,
  )
  const perTarget: number[] = []
  let multi = 0
  let atRate = 0
  for (let i = 0; i < TARGETS; i++) {
    const t = st.targets?.[String(i)]
    const c = t?.count ?? 0
    perTarget.push(c / w)
    if (Object.keys(t?.nodes ?? {}).length > 1) multi++
    if (Math.abs(c / w - 1000 / INTERVAL_MS) <= 0.1 * (1000 / INTERVAL_MS)) atRate++
  }
  const steady = {
    windowS: Math.round(w * 10) / 10,
    checksPerS: Math.round(st.total / w),
    expectedPerS: (TARGETS * 1000) / INTERVAL_MS,
    targetsAtRate: atRate,
    targetsWithTwoCheckers: multi,
    ratePerTarget: { p1: q(perTarget, 0.01), p50: q(perTarget, 0.5), p99: q(perTarget, 0.99) },
    cpuPerAgent: { mean: cpu.reduce((s, x) => s + x, 0) / cpu.length, max: Math.max(...cpu) },
    rssMiBPerAgent: { mean: rss.reduce((s, x) => s + x, 0) / rss.length, max: Math.max(...rss) },
    gossipOutBps: { mean: gossipOut.reduce((s, x) => s + x, 0) / gossipOut.length, max: Math.max(...gossipOut) },
    gossipInBps: { mean: gossipIn.reduce((s, x) => s + x, 0) / gossipIn.length, max: Math.max(...gossipIn) },
    crdtOutBpsByKind: crdtKinds,
    load: loadavg(),
  }
  console.log(`steady ${steady.windowS} s: ${steady.checksPerS} checks/s (expected ${steady.expectedPerS}); ${atRate}/${TARGETS} targets at 1/s ±10%; ${multi} with two checkers; rate per target p1 ${steady.ratePerTarget.p1?.toFixed(2)} p50 ${steady.ratePerTarget.p50?.toFixed(2)} p99 ${steady.ratePerTarget.p99?.toFixed(2)}`)
  console.log(`per agent: CPU ${(steady.cpuPerAgent.mean * 100).toFixed(1)}% mean, ${(steady.cpuPerAgent.max * 100).toFixed(1)}% max of one core; RSS ${steady.rssMiBPerAgent.mean.toFixed(0)} MiB mean, ${steady.rssMiBPerAgent.max.toFixed(0)} max; gossip out ${(steady.gossipOutBps.mean / 1024).toFixed(1)} KiB/s mean (${(steady.gossipOutBps.max / 1024).toFixed(1)} max), in ${(steady.gossipInBps.mean / 1024).toFixed(1)} KiB/s mean; replicated-state bytes out per agent by kind (KiB/s): ${Object.entries(crdtKinds).map(([k, v]) => `${k} ${(v / 1024).toFixed(1)}`).join(', ')}; load ${steady.load}`)

  // ---- dissemination of status changes ----
  const seen = new Map<string, Map<string, number>>() // `${id}/${status}` → agent → time
  const followers = agents.map((a) =>
    follow(a, (id, status, at) => {
      const k = `${id}/${status}`
      let m = seen.get(k)
      if (!m) seen.set(k, (m = new Map()))
      if (!m.has(a.name)) m.set(a.name, at)
    }),
  )
  await Bun.sleep(500)
  const flipIds = Array.from({ length: CHANGES }, (_, k) => Math.floor(((k + 0.5) * TARGETS) / CHANGES))
  const spreads: number[] = []
  for (const [mode, status] of [['fail', 'unhealthy'], ['ok', 'healthy']] as const) {
    for (const i of flipIds) {
      await fetch(`${farm.url}/admin/targets/${i}`, { method: 'POST', body: JSON.stringify({ mode }) })
      await Bun.sleep(150)
    }
    await until(() => flipIds.every((i) => (seen.get(`t${i}/${status}`)?.size ?? 0) === AGENTS), 30_000, 200)
    // Cross-check over the API: how many agents show each flipped target in its new status now.
    const agree = await Promise.all(agents.map(async (a) => {
      const h = new Map(((await get(a, '/v1/health')).targets as Array<{ id: string; status: string }>).map((t) => [t.id, t.status]))
      return flipIds.filter((i) => h.get(`t${i}`) === status).length
    }))
    console.log(`  after ${mode}: agents' /v1/health showing the ${CHANGES} flipped targets ${status} (per agent): ${agree.join(' ')}; SSE events seen per change: ${flipIds.map((i) => seen.get(`t${i}/${status}`)?.size ?? 0).join(' ')}`)
    for (const i of flipIds) {
      const m = seen.get(`t${i}/${status}`)
      const times = [...(m?.values() ?? [])]
      spreads.push(times.length === AGENTS ? Math.max(...times) - Math.min(...times) : NaN)
    }
  }
  for (const f of followers) f.abort()
  // Who is late: per agent, the changes it saw more than 1 s after the first agent did (or never).
  const late = new Map<string, number>()
  const within1s: number[] = []
  for (const [mode, status] of [['fail', 'unhealthy'], ['ok', 'healthy']] as const) {
    void mode
    for (const i of flipIds) {
      const m = seen.get(`t${i}/${status}`) ?? new Map<string, number>()
      const first = Math.min(...m.values())
      within1s.push([...m.values()].filter((t) => t - first <= 1000).length)
      for (const a of agents) {
        const t = m.get(a.name)
        if (t === undefined || t - first > 1000) late.set(a.name, (late.get(a.name) ?? 0) + 1)
      }
    }
  }
  console.log(`  agents reaching a change within 1 s of the first: p10 ${q(within1s, 0.1)} p50 ${q(within1s, 0.5)}; late (>1 s or never) per agent: ${[...late].sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n}=${c}`).join(' ') || 'none'}`)
  const missing = spreads.filter((x) => !Number.isFinite(x)).length
  const slow = spreads.filter((x) => Number.isFinite(x) && x > 1000).length
  console.log(`status change visible on all ${AGENTS} (last agent's event − owner's event), ${spreads.length} changes: ${fmt(spreads)}; p90 ${Math.round(q(spreads, 0.9))} ms; ${slow} took over 1 s${missing ? `; ${missing} not seen everywhere within 30 s` : ''}`)

  // ---- SIGKILL of the busiest non-seed agent ----
  const own = (await get(agents[0] as Agent, '/v1/ownership')).ownership as Record<string, string[]>
  const victim = agents.slice(1).sort((a, b) => (own[b.name]?.length ?? 0) - (own[a.name]?.length ?? 0))[0] as Agent
  const vTargets = (own[victim.name] ?? []).map((id) => id.slice(1))
  await fetch(`${farm.url}/admin/reset?what=counters`, { method: 'POST' })
  await Bun.sleep(3000)
  const killAt = Date.now()
  const killPerf = performance.now()
  victim.proc.kill('SIGKILL')
  const survivors = agents.filter((a) => a !== victim)
  const deadAt = new Map<string, number>()
  const detectAll = await until(async () => {
    await Promise.all(survivors.filter((a) => !deadAt.has(a.name)).map(async (a) => {
      const m = (await get(a, '/v1/members')).members as Array<{ name: string; state: string }>
      if (m.find((x) => x.name === victim.name)?.state === 'dead') deadAt.set(a.name, performance.now() - killPerf)
    }))
    return deadAt.size === survivors.length
  }, 60_000, 100)
  let kst = await farm.stats('')
  await until(async () => {
    kst = await farm.stats('')
    return vTargets.every((i) => Object.keys(kst.targets?.[i]?.nodes ?? {}).some((n) => n !== victim.name && (kst.targets?.[i]?.nodes[n]?.last ?? 0) > killAt))
  }, 30_000, 1000)
  const gaps: number[] = []
  const recheck: number[] = []
  for (const i of vTargets) {
    const t = kst.targets?.[i]
    const vLast = t?.nodes[victim.name]?.last ?? NaN
    const heirFirst = Math.min(...Object.entries(t?.nodes ?? {}).filter(([n, c]) => n !== victim.name && c.last > killAt).map(([n, c]) => (c.first > killAt ? c.first : NaN)).filter(Number.isFinite), Infinity)
    gaps.push(heirFirst - vLast)
    recheck.push(heirFirst - killAt)
  }
  const dead = [...deadAt.values()]
  console.log(`SIGKILL ${victim.name} (owned ${vTargets.length}): every survivor marked it dead after ${Math.round(detectAll)} ms (first ${Math.round(Math.min(...dead))} ms)`)
  console.log(`  coverage gap of its targets: ${fmt(gaps)}; owner died → checked again: ${fmt(recheck)}`)
  for (const a of agents) await stopChild(a.proc, 6000)
  await farm.stop()
  return { mode, fullMs, steady, spreads, killed: { owned: vTargets.length, allDeadMs: detectAll, firstDeadMs: Math.min(...dead), gaps, recheck } }
}

async function serfPhase() {
  if (!Bun.which('serf')) {
    console.log('serf is missing: apt-get install -y serf')
    Bun.spawnSync(['apt-get', 'update', '-qq'])
    Bun.spawnSync(['apt-get', 'install', '-y', '-qq', 'serf'])
  }
  const version = Bun.spawnSync(['serf', 'version']).stdout.toString().split('\n')[0]
  interface S { name: string; bind: number; rpc: number; proc: Proc; failed: Map<string, number>; events: Map<string, number>; members: Set<string> }
  const agents: S[] = []
  const watch = (s: S) => {
    void (async () => {
      const dec = new TextDecoder()
      let buf = ''
      for await (const chunk of s.proc.stdout as ReadableStream<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true })
        let i: number
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i)
          buf = buf.slice(i + 1)
          const now = performance.now()
          let m = /EventMemberJoin: (\S+)/.exec(line)
          if (m) s.members.add(m[1] as string)
          m = /EventMemberFailed: (\S+)/.exec(line)
          if (m && !s.failed.has(m[1] as string)) s.failed.set(m[1] as string, now)
          m = /user-event: (\S+)/.exec(line)
          if (m && !s.events.has(m[1] as string)) s.events.set(m[1] as string, now)
        }
      }
    })().catch(() => {})
  }
  const t0 = performance.now()
  for (let i = 0; i < AGENTS; i++) {
    const bind = freePort()
    const rpc = freePort()
    const seed = agents[0]
    const proc = spawnTracked(['serf', 'agent', `-node=s${i + 1}`, `-bind=127.0.0.1:${bind}`, `-rpc-addr=127.0.0.1:${rpc}`, '-profile=lan', '-log-level=info',
      ...(seed ? [`-join=127.0.0.1:${seed.bind}`] : [])], { stdout: 'pipe', stderr: 'ignore' })
    const s: S = { name: `s${i + 1}`, bind, rpc, proc, failed: new Map(), events: new Map(), members: new Set() }
    watch(s)
    agents.push(s)
    if (i === 0) await Bun.sleep(500)
  }
  const fullMs = await until(() => agents.every((s) => s.members.size >= AGENTS), 60_000, 50)
  console.log(`serf (${version}): ${AGENTS} agents; full membership ${Math.round(performance.now() - t0)} ms after the first spawn`)
  await Bun.sleep(3000)
  // User events.
  const evSpread: number[] = []
  for (let k = 0; k < CHANGES; k++) {
    const name = `ev${k}`
    const from = agents[k % AGENTS] as S
    const sent = performance.now()
    Bun.spawnSync(['serf', 'event', `-rpc-addr=127.0.0.1:${from.rpc}`, '-coalesce=false', name, 'x'])
    await until(() => agents.every((s) => s.events.has(name)), 10_000, 20)
    const times = agents.map((s) => s.events.get(name) ?? NaN)
    evSpread.push(Math.max(...times) - sent)
    await Bun.sleep(100)
  }
  console.log(`serf event reaches all ${AGENTS} (from the \`serf event\` call): ${fmt(evSpread)}`)
  const victim = agents[Math.floor(AGENTS / 2)] as S
  const killAt = performance.now()
  victim.proc.kill('SIGKILL')
  const survivors = agents.filter((s) => s !== victim)
  const allMs = await until(() => survivors.every((s) => s.failed.has(victim.name)), 90_000, 20)
  const each = survivors.map((s) => (s.failed.get(victim.name) ?? NaN) - killAt)
  console.log(`serf: SIGKILL ${victim.name}: every survivor logged it failed after ${Math.round(allMs)} ms (first ${Math.round(Math.min(...each))} ms)`)
  const rss = agents.filter((s) => s !== victim).map((s) => (rssBytes(s.proc.pid) ?? NaN) / MiB)
  for (const s of agents) await stopChild(s.proc)
  return { version, fullMs, allDeadMs: allMs, firstDeadMs: Math.min(...each), evSpread, rssMiB: rss.reduce((a, b) => a + b, 0) / rss.length }
}

benchDeadline(15 * 60_000)
await finish(async () => {
  console.log(`v2-cluster: ${AGENTS} agents × ${TARGETS} targets at ${INTERVAL_MS} ms, profile ${PROFILE}, targets file on ${FILE_ON}; machine: ${machine()}; load ${loadavg()}`)
  const dir = tmp('v2')
  const heck = await heckPhase(dir)
  const serf = SERF ? await serfPhase() : undefined
  if (serf) {
    const heckTotal = q(heck.killed.recheck, 1)
    console.log(`\nowner died → all its targets checked again (heck, max): ${Math.round(heckTotal)} ms vs Serf's bare detection (all survivors): ${Math.round(serf.allDeadMs)} ms → ${heckTotal < serf.allDeadMs ? 'below' : 'NOT below'} (ratio ${(heckTotal / serf.allDeadMs).toFixed(2)})`)
    console.log(`status change on all (heck p50/p99): ${Math.round(q(heck.spreads, 0.5))}/${Math.round(q(heck.spreads, 0.99))} ms vs serf event (p50/p99): ${Math.round(q(serf.evSpread, 0.5))}/${Math.round(q(serf.evSpread, 0.99))} ms`)
  }
  console.log(`JSON ${JSON.stringify({ agents: AGENTS, targets: TARGETS, profile: PROFILE, heck: { ...heck, spreads: undefined, killed: { ...heck.killed, gaps: undefined, recheck: undefined, gapP99: q(heck.killed.gaps, 0.99), gapMax: q(heck.killed.gaps, 1), recheckMax: q(heck.killed.recheck, 1) }, spreadP50: q(heck.spreads, 0.5), spreadP99: q(heck.spreads, 0.99) }, serf: serf && { ...serf, evSpread: undefined, evP50: q(serf.evSpread, 0.5), evP99: q(serf.evSpread, 0.99) } })}`)
  return 0
})
