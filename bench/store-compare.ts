/**
 * Gossip vs consensus, side by side in one run (issue 13): the same AGENTS agents of
 * the compiled binary and TARGETS farm targets at 1 s, once with `--store gossip`
 * and once with `--store etcd://…` on a 3-member etcd cluster on loopback, whose
 * cost counts as the consensus mode's.
 *
 * Per mode:
 *   - a state change visible on all agents: CHANGES targets flipped to failing and
 *     back (2 × CHANGES changes); each agent's `GET /v1/events` stream is read, and
 *     the spread is the last agent's event minus the first's (p50, p99);
 *   - steady window (WINDOW_S): CPU and RSS per agent (and per etcd member), writes
 *     to the store (etcd: puts and deletes from its /metrics) and bytes (gossip: heck's
 *     heck_gossip_bytes_total out; etcd: its gRPC bytes received and sent, which
 *     the JSON gateway's requests become);
 *   - an owner SIGKILLed: the longest time until each of its targets was checked by
 *     another node (the farm's counts).
 * Not measured yet: the 3 + 5 partition (gossip needs network namespaces for it; see
 * test/cluster/partition-netns.test.ts and test/etcd/faults.test.ts for each side).
 *
 *   bun bench/store-compare.ts     (AGENTS=8 TARGETS=2000 CHANGES=25 WINDOW_S=15)
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFarm } from '../src/farm/farm.ts'
import { AgentSet, type Agent } from '../test/helpers/agents.ts'
import { ensureBinary } from '../test/helpers/binary.ts'
import { EtcdCluster, etcdBinary } from '../test/helpers/etcd-cluster.ts'
import { parseProm, sumOf } from './lib/prom.ts'
import { benchDeadline, finish } from './lib/procs.ts'
import { cpuSeconds, rssBytes } from './lib/sys.ts'

const AGENTS = Number(process.env.AGENTS ?? 8)
const TARGETS = Number(process.env.TARGETS ?? 2000)
const CHANGES = Number(process.env.CHANGES ?? 25)
const WINDOW_S = Number(process.env.WINDOW_S ?? 15)
benchDeadline(15 * 60_000)

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN
const MiB = 1024 * 1024

interface Row {
  change: string
  kill: string
  writes: string
  bytes: string
  cpu: string
  rss: string
  storeCpu: string
  storeRss: string
  full: string
}

/** Reads an agent's SSE stream, noting when each health event for a target arrives. */
function listen(url: string, seen: Map<string, number[]>, signal: AbortSignal): void {
  void (async () => {
    try {
      const res = await fetch(`${url}/v1/events`, { signal })
      const reader = res.body!.getReader()
      const dec = new TextDecoder()
      let buf = ''
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        buf += dec.decode(value, { stream: true })
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          if (!block.includes('event: health')) continue
          const data = /data: (.*)/.exec(block)?.[1]
          if (!data) continue
          const e = JSON.parse(data) as { id: string; status: string }
          const k = `${e.id}:${e.status}`
          const list = seen.get(k) ?? []
          list.push(performance.now())
          seen.set(k, list)
        }
      }
    } catch {}
  })()
}

async function runMode(mode: 'gossip' | 'etcd', heck: string, etcdBin: string | undefined): Promise<Row> {
  const farm = startFarm({ count: TARGETS, seed: 21 })
  let etcd: EtcdCluster | undefined
  const extra: string[] = []
  if (mode === 'etcd') {
    etcd = new EtcdCluster(etcdBin as string, 3)
    await etcd.startAll()
    extra.push('--store', `etcd://${etcd.endpoints.join(',')}/compare`, '--lease-ttl', '5s')
  }
  const probe = new AgentSet(heck, 0)
  const targets = join(probe.dir, 'targets.yaml')
  writeFileSync(targets, farm.targetsYaml({ count: TARGETS, intervalMs: 1000, rise: 1, fall: 1 }))
  const set = new AgentSet(heck, AGENTS, { names: mode[0], targetsPath: targets, profile: 'lan', extraArgs: extra })
  const t0 = performance.now()
  try {
    set.startAll()
    await set.waitConverged(120_000)
    // Every target checked and known healthy on every agent.
    for (const a of set.agents) {
      for (const end = performance.now() + 60_000; performance.now() < end; await Bun.sleep(250)) {
        const h = (await set.get(a, '/v1/health?status=healthy&limit=1')) as { total?: number }
        if (h.total === TARGETS) break
      }
    }
    const fullMs = performance.now() - t0
    await Bun.sleep(3000)

    // Steady window.
    const pids = set.agents.map((a) => a.proc!.pid)
    const etcdPids = etcd?.members.map((m) => m.proc!.pid) ?? []
    const metricsOf = async (a: Agent) => parseProm(await (await fetch(`${set.url(a)}/metrics`)).text())
    const etcdMetrics = async () => (etcd ? parseProm(await (await fetch(`http://${etcd.endpoints[0]}/metrics`)).text()) : undefined)
    const cpu0 = pids.map((p) => cpuSeconds(p) ?? 0)
    const ecpu0 = etcdPids.map((p) => cpuSeconds(p) ?? 0)
    const g0 = await Promise.all(set.agents.map(async (a) => sumOf(await metricsOf(a), 'heck_gossip_bytes_total', { direction: 'out' })))
    const e0 = await etcdMetrics()
    await Bun.sleep(WINDOW_S * 1000)
    const cpu = pids.map((p, i) => ((cpuSeconds(p) ?? 0) - (cpu0[i] as number)) / WINDOW_S)
    const ecpu = etcdPids.map((p, i) => ((cpuSeconds(p) ?? 0) - (ecpu0[i] as number)) / WINDOW_S)
    const rss = pids.map((p) => rssBytes(p) ?? 0)
    const erss = etcdPids.map((p) => rssBytes(p) ?? 0)
    const g1 = await Promise.all(set.agents.map(async (a) => sumOf(await metricsOf(a), 'heck_gossip_bytes_total', { direction: 'out' })))
    const e1 = await etcdMetrics()
    let writes = '0 (no store writes)'
    let bytes = `${((g1.reduce((x, y) => x + y, 0) - g0.reduce((x, y) => x + y, 0)) / AGENTS / WINDOW_S / 1024).toFixed(1)} KiB/s gossip out per agent`
    if (e0 && e1) {
      const puts = (m: Map<string, number>) => sumOf(m, 'etcd_mvcc_put_total') + sumOf(m, 'etcd_mvcc_delete_total') + sumOf(m, 'etcd_mvcc_txn_total')
      const by = (m: Map<string, number>) => sumOf(m, 'etcd_network_client_grpc_received_bytes_total') + sumOf(m, 'etcd_network_client_grpc_sent_bytes_total')
      writes = `${((puts(e1) - puts(e0)) / WINDOW_S).toFixed(1)}/s (puts, deletes and txns at the member asked)`
      bytes = `${((by(e1) - by(e0)) / WINDOW_S / 1024).toFixed(1)} KiB/s client traffic at one etcd member (of 3)`
    }

    // State changes.
    const seen = new Map<string, number[]>()
    const ac = new AbortController()
    for (const a of set.agents) listen(set.url(a), seen, ac.signal)
    await Bun.sleep(1000)
    const ids = Array.from({ length: CHANGES }, (_, i) => String(i * Math.floor(TARGETS / CHANGES)))
    farm.setMode(ids, { mode: 'fail', status: 503 })
    await Bun.sleep(6000)
    farm.setMode(ids, { mode: 'ok' })
    await Bun.sleep(6000)
    ac.abort()
    const spreads: number[] = []
    let incomplete = 0
    for (const id of ids) {
      for (const st of ['unhealthy', 'healthy']) {
        const at = seen.get(`t${id}:${st}`) ?? []
        if (at.length < AGENTS) incomplete++
        else spreads.push(Math.max(...at) - Math.min(...at))
      }
    }

    // An owner SIGKILLed.
    const owners = new Map(((await set.get(set.agents[0]!, '/v1/health')).targets as Array<{ id: string; owner: string }>).map((t) => [t.id, t.owner]))
    const victim = set.agents[AGENTS - 1]!
    const theirs = [...owners].filter(([, o]) => o === victim.name).map(([id]) => id.slice(1))
    farm.reset('counters')
    const killedAt = performance.now()
    await set.kill(victim)
    const firstOther = new Map<string, number>()
    for (const end = performance.now() + 30_000; performance.now() < end && firstOther.size < theirs.length; await Bun.sleep(50)) {
      const st = farm.stats()
      for (const id of theirs) {
        if (firstOther.has(id)) continue
        if (Object.keys(st.targets?.[id]?.nodes ?? {}).some((n) => n !== victim.name)) firstOther.set(id, performance.now() - killedAt)
      }
    }
    const gaps = [...firstOther.values()]
    const pct = (xs: number[]) => `${(q(xs, 0.5) * 100).toFixed(1)} % mean ${((xs.reduce((a, b) => a + b, 0) / xs.length) * 100).toFixed(1)} %`
    return {
      full: `${(fullMs / 1000).toFixed(1)} s`,
      change: `p50 ${q(spreads, 0.5).toFixed(0)} ms, p99 ${q(spreads, 0.99).toFixed(0)} ms (${spreads.length} of ${2 * CHANGES} on all${incomplete ? `, ${incomplete} not on all` : ''})`,
      kill: `${firstOther.size} of ${theirs.length} moved; max ${Math.max(...gaps).toFixed(0)} ms`,
      writes,
      bytes,
      cpu: `median ${pct(cpu)}`,
      rss: `${(q(rss, 0.5) / MiB).toFixed(0)} MiB median, ${(Math.max(...rss) / MiB).toFixed(0)} max`,
      storeCpu: ecpu.length ? `${ecpu.map((c) => `${(c * 100).toFixed(1)} %`).join(', ')}` : '–',
      storeRss: erss.length ? `${erss.map((r) => `${(r / MiB).toFixed(0)}`).join(', ')} MiB` : '–',
    }
  } finally {
    await set.stopAll()
    await probe.stopAll()
    await etcd?.stop()
    await farm.stop()
  }
}

await finish(async () => {
  const heck = await ensureBinary()
  const etcdBin = etcdBinary()
  if (!etcdBin) throw new Error('etcd not found: apt-get install etcd-server')
  const load = async () => (await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' ')
  console.log(`store-compare: ${AGENTS} agents × ${TARGETS} targets at 1 s, compiled binary; load ${await load()}`)
  const gossip = await runMode('gossip', heck, undefined)
  console.log(`gossip done; load ${await load()}`)
  const etcd = await runMode('etcd', heck, etcdBin)
  console.log(`etcd done; load ${await load()}\n`)
  const rows: Array<[string, keyof Row]> = [
    ['cold start → every target healthy on every agent', 'full'],
    ['a state change on all agents (spread, first → last agent)', 'change'],
    ['owner SIGKILLed → its targets checked by another node', 'kill'],
    ['writes to the store per second (steady)', 'writes'],
    ['bytes per second (steady)', 'bytes'],
    ['CPU per agent (steady)', 'cpu'],
    ['RSS per agent', 'rss'],
    ['CPU per etcd member', 'storeCpu'],
    ['RSS per etcd member', 'storeRss'],
  ]
  console.log('| figure | gossip | etcd (3 members) |\n|---|---|---|')
  for (const [label, k] of rows) console.log(`| ${label} | ${gossip[k]} | ${etcd[k]} |`)
  return 0
})
