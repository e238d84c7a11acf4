/**
 * Gossip vs consensus under a 3 + 5 partition (issue 13), both modes in one run: AGENTS
 * hosts in network namespaces (test/cluster/netns.ts), a farm of TARGETS endpoints at
 * 1 s and, for the consensus mode, a single-member etcd on the bridge side, which the
 * 5 hosts keep reaching. iptables cuts hosts 1–3 off from hosts 4–8 (gossip) or from
 * etcd (consensus) for CUT_S seconds, then heals.
 *
 * Per mode, from the farm's counters in 1 s windows: targets left unchecked in a window
 * (and for how many windows, at most), targets checked by two nodes in a window during
 * the cut, and the time from the heal until every target has one checker again and all
 * agents report the same status for every target.
 *
 *   bun bench/store-partition.ts     (AGENTS=8 TARGETS=2000 CUT_S=30; root, ip, iptables, curl, etcd)
 */
import type { Subprocess } from 'bun'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureBinary } from '../test/helpers/binary.ts'
import { etcdBinary } from '../test/helpers/etcd-cluster.ts'
import { BRIDGE_ADDR, Netns, netnsUnavailable, run } from '../test/cluster/netns.ts'
import { benchDeadline, finish } from './lib/procs.ts'

const AGENTS = Number(process.env.AGENTS ?? 8)
const TARGETS = Number(process.env.TARGETS ?? 2000)
const CUT_S = Number(process.env.CUT_S ?? 30)
const MINORITY = [1, 2, 3]
benchDeadline(20 * 60_000)

const FARM = `http://${BRIDGE_ADDR}:8081`
const ETCD = `${BRIDGE_ADDR}:2379`

interface Result {
  uncheckedMax: number
  uncheckedLongestS: number
  twiceMax: number
  agreeMs: number
}

async function runMode(mode: 'gossip' | 'etcd', bin: string, etcd: string, dir: string): Promise<Result> {
  const net = new Netns(`hs${mode[0]}${process.pid % 10000}`, AGENTS)
  const procs: Subprocess[] = []
  const spawnIn = (ns: string, cmd: string[], log: string) => {
    const p = Bun.spawn(['ip', 'netns', 'exec', ns, ...cmd], { stdout: 'ignore', stderr: Bun.file(join(dir, `${mode}-${log}`)) })
    procs.push(p)
  }
  net.create()
  try {
    spawnIn(net.bridgeNs, [bin, 'farm', '--host', BRIDGE_ADDR, '--port', '8081', '--count', String(TARGETS)], 'farm.log')
    if (mode === 'etcd') {
      spawnIn(net.bridgeNs, [etcd, '--data-dir', join(dir, `etcd-${process.pid}`), '--listen-client-urls', `http://${ETCD}`, '--advertise-client-urls', `http://${ETCD}`, '--listen-peer-urls', `http://${BRIDGE_ADDR}:2380`, '--log-level', 'error'], 'etcd.log')
    }
    for (const end = Date.now() + 15_000; Date.now() < end; await Bun.sleep(200)) {
      const ok = (await net.fetch(net.bridgeNs, `${FARM}/admin/healthz`)).status === 200 && (mode === 'gossip' || (await net.fetch(net.bridgeNs, `http://${ETCD}/health`)).status === 200)
      if (ok) break
    }
    const targets = join(dir, `${mode}-targets.yaml`)
    writeFileSync(targets, `defaults: {interval: 1s}\ntargets:\n${Array.from({ length: TARGETS }, (_, i) => `  - {id: t${i}, url: "${FARM}/t/${i}"}`).join('\n')}\n`)
    for (let i = 1; i <= AGENTS; i++) {
      const store = mode === 'etcd' ? ['--store', `etcd://${ETCD}/part`, '--lease-ttl', '5s'] : ['--bind', `${net.addr(i)}:7946`, ...(i === 1 ? [] : ['--retry-join', `${net.addr(1)}:7946`])]
      spawnIn(net.hosts[i - 1] as string, [bin, 'agent', '--name', `h${i}`, '--http', '127.0.0.1:8080', '--targets', targets, '--log-level', 'warn', ...store], `h${i}.log`)
    }
    const windows = async (): Promise<{ unchecked: Set<string>; twice: number }> => {
      await net.fetch(net.bridgeNs, `${FARM}/admin/reset?what=counters`, { method: 'POST' })
      await Bun.sleep(1000)
      const st = await net.json(net.bridgeNs, `${FARM}/admin/stats`)
      const unchecked = new Set<string>()
      let twice = 0
      for (let i = 0; i < TARGETS; i++) {
        const n = Object.keys(st.targets?.[String(i)]?.nodes ?? {}).length
        if (n === 0) unchecked.add(String(i))
        if (n > 1) twice++
      }
      return { unchecked, twice }
    }
    // Settled: every target checked by exactly one node.
    for (const end = Date.now() + 120_000; Date.now() < end; ) {
      const w = await windows()
      if (w.unchecked.size === 0 && w.twice === 0) break
    }
    await Bun.sleep(5000)
    // The cut.
    for (const i of MINORITY) {
      const ns = net.hosts[i - 1] as string
      if (mode === 'etcd') {
        run(['ip', 'netns', 'exec', ns, 'iptables', '-A', 'OUTPUT', '-d', BRIDGE_ADDR, '-p', 'tcp', '--dport', '2379', '-j', 'DROP'])
        run(['ip', 'netns', 'exec', ns, 'iptables', '-A', 'INPUT', '-s', BRIDGE_ADDR, '-p', 'tcp', '--sport', '2379', '-j', 'DROP'])
      }
    }
    if (mode === 'gossip') net.cut(MINORITY, Array.from({ length: AGENTS - MINORITY.length }, (_, k) => MINORITY.length + 1 + k))
    const streak = new Map<string, number>()
    let uncheckedMax = 0
    let uncheckedLongestS = 0
    let twiceMax = 0
    for (const end = Date.now() + CUT_S * 1000; Date.now() < end; ) {
      const w = await windows()
      uncheckedMax = Math.max(uncheckedMax, w.unchecked.size)
      twiceMax = Math.max(twiceMax, w.twice)
      for (const id of [...streak.keys()]) if (!w.unchecked.has(id)) streak.delete(id)
      for (const id of w.unchecked) {
        const s = (streak.get(id) ?? 0) + 1
        streak.set(id, s)
        uncheckedLongestS = Math.max(uncheckedLongestS, s)
      }
    }
    net.heal()
    const healedAt = Date.now()
    let agreeMs = Number.NaN
    for (const end = Date.now() + 120_000; Date.now() < end; ) {
      const w = await windows()
      if (w.unchecked.size > 0 || w.twice > 0) continue
      const views = await Promise.all(net.hosts.map((h) => net.json(h, 'http://127.0.0.1:8080/v1/health').catch(() => null)))
      const sig = views.map((v) => (v ? JSON.stringify((v.targets as Array<{ id: string; status: string }>).map((t) => [t.id, t.status]).sort()) : 'x'))
      if (sig.every((x) => x === sig[0] && x !== 'x')) {
        agreeMs = Date.now() - healedAt
        break
      }
    }
    return { uncheckedMax, uncheckedLongestS, twiceMax, agreeMs }
  } finally {
    for (const p of procs) p.kill('SIGKILL')
    await Promise.all(procs.map((p) => p.exited))
    net.heal()
    net.destroy()
  }
}

await finish(async () => {
  const why = netnsUnavailable()
  if (why) throw new Error(`network namespaces unavailable: ${why}`)
  const etcd = etcdBinary()
  if (!etcd) throw new Error('etcd not found: apt-get install etcd-server')
  const bin = await ensureBinary()
  const dir = mkdtempSync(join(tmpdir(), 'heck-bench-partition-'))
  try {
    const load = async () => (await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' ')
    console.log(`store-partition: ${AGENTS} hosts in network namespaces × ${TARGETS} targets at 1 s, hosts ${MINORITY.join(',')} cut for ${CUT_S} s; load ${await load()}`)
    const g = await runMode('gossip', bin, etcd, dir)
    const e = await runMode('etcd', bin, etcd, dir)
    console.log(`load at end ${await load()}\n`)
    console.log('| during a 3 + 5 partition | gossip (3 cut from 5) | etcd (3 cut from etcd) |\n|---|---|---|')
    console.log(`| targets unchecked in a 1 s window, most at once | ${g.uncheckedMax} | ${e.uncheckedMax} |`)
    console.log(`| longest a target went unchecked (1 s windows) | ${g.uncheckedLongestS} s | ${e.uncheckedLongestS} s |`)
    console.log(`| targets checked by two nodes in a 1 s window, most at once | ${g.twiceMax} | ${e.twiceMax} |`)
    console.log(`| heal → one checker per target and every agent agreeing | ${(g.agreeMs / 1000).toFixed(1)} s | ${(e.agreeMs / 1000).toFixed(1)} s |`)
    return 0
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
