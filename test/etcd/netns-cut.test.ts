/**
 * An agent cut off from etcd by iptables in a network namespace (issue 13): two hosts
 * in namespaces this test creates, etcd and a farm on the bridge side; agents run the
 * compiled binary with `--store etcd://…`. iptables in h2 drops its etcd traffic only
 * (the farm stays reachable, so what stops is its choice): once its lease lapsed, h2
 * checks nothing, says so in /healthz and refuses writes with a 503, while h1 checks
 * every target; after the heal h2 is a member again and takes its share back.
 * Needs root, ip, iptables, curl and etcd; skips loudly otherwise.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Subprocess } from 'bun'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureBinary, eventually } from '../helpers/binary.ts'
import { etcdBinary } from '../helpers/etcd-cluster.ts'
import { BRIDGE_ADDR, Netns, netnsUnavailable, run } from '../cluster/netns.ts'

const etcd = etcdBinary()
const why = netnsUnavailable() ?? (etcd ? undefined : 'etcd not found')
if (why) console.warn(`SKIP test/etcd/netns-cut.test.ts: ${why} (needs root with ip, iptables, curl and etcd)`)

const TARGETS = 10
const FARM = `http://${BRIDGE_ADDR}:8081`
const ETCD = `${BRIDGE_ADDR}:2379`
let net: Netns
let dir: string
const procs: Subprocess[] = []

beforeAll(async () => {
  if (why) return
  const bin = await ensureBinary()
  dir = mkdtempSync(join(tmpdir(), 'heck-etcd-netns-'))
  net = new Netns(`he${process.pid % 100000}`, 2)
  net.create()
  const inBridge = (cmd: string[], log: string) => {
    const p = Bun.spawn(['ip', 'netns', 'exec', net.bridgeNs, ...cmd], { stdout: 'ignore', stderr: Bun.file(join(dir, log)) })
    procs.push(p)
  }
  inBridge([etcd as string, '--data-dir', join(dir, 'etcd'), '--listen-client-urls', `http://${ETCD}`, '--advertise-client-urls', `http://${ETCD}`, '--listen-peer-urls', `http://${BRIDGE_ADDR}:2380`, '--log-level', 'error'], 'etcd.log')
  inBridge([bin, 'farm', '--host', BRIDGE_ADDR, '--port', '8081', '--count', String(TARGETS)], 'farm.log')
  await eventually(async () => (await net.fetch(net.bridgeNs, `http://${ETCD}/health`)).status === 200, 15_000, 'etcd')
  await eventually(async () => (await net.fetch(net.bridgeNs, `${FARM}/admin/healthz`)).status === 200, 10_000, 'the farm')
  const targets = join(dir, 'targets.yaml')
  writeFileSync(targets, `defaults: {interval: 500ms}\ntargets:\n${Array.from({ length: TARGETS }, (_, i) => `  - {id: t${i}, url: "${FARM}/t/${i}"}`).join('\n')}\n`)
  for (const i of [1, 2]) {
    const p = Bun.spawn(['ip', 'netns', 'exec', net.hosts[i - 1] as string, bin, 'agent', '--name', `h${i}`, '--http', '127.0.0.1:8080', '--store', `etcd://${ETCD}/netns`, '--lease-ttl', '2s', '--targets', targets], {
      stdout: 'ignore',
      stderr: Bun.file(join(dir, `h${i}.log`)),
    })
    procs.push(p)
  }
}, 60_000)

afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
  net?.heal?.call(net)
  net?.destroy()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Targets each node checked over `ms`, by the farm's counters. */
async function checkedBy(ms: number): Promise<Map<string, number>> {
  await net.fetch(net.bridgeNs, `${FARM}/admin/reset?what=counters`, { method: 'POST' })
  await Bun.sleep(ms)
  const st = await net.json(net.bridgeNs, `${FARM}/admin/stats`)
  const by = new Map<string, number>()
  for (const t of Object.values(st.targets as Record<string, { nodes: Record<string, unknown> }>)) for (const n of Object.keys(t.nodes)) by.set(n, (by.get(n) ?? 0) + 1)
  return by
}

const api = (i: number, path: string) => net.json(net.hosts[i - 1] as string, `http://127.0.0.1:8080${path}`)

test.skipIf(!!why)('cut from etcd by iptables: the cut agent stops checking after its lease, refuses writes; after the heal it takes its share back', async () => {
  await eventually(async () => {
    const by = await checkedBy(1500)
    return (by.get('h1') ?? 0) > 0 && (by.get('h2') ?? 0) > 0 && (by.get('h1') ?? 0) + (by.get('h2') ?? 0) === TARGETS
  }, 30_000, 'both checking, each target once')

  // h2 loses etcd only: its traffic to and from port 2379 of the bridge is dropped.
  const h2 = net.hosts[1] as string
  run(['ip', 'netns', 'exec', h2, 'iptables', '-A', 'OUTPUT', '-d', BRIDGE_ADDR, '-p', 'tcp', '--dport', '2379', '-j', 'DROP'])
  run(['ip', 'netns', 'exec', h2, 'iptables', '-A', 'INPUT', '-s', BRIDGE_ADDR, '-p', 'tcp', '--sport', '2379', '-j', 'DROP'])
  const cutAt = Date.now()
  await eventually(async () => {
    const by = await checkedBy(1500)
    return (by.get('h2') ?? 0) === 0 && (by.get('h1') ?? 0) === TARGETS
  }, 20_000, 'h1 checking everything, h2 nothing')
  console.log(`etcd mode, iptables cut: h2 stopped and h1 took everything within ${Date.now() - cutAt} ms (lease 2 s)`)
  expect((await api(2, '/healthz')).store.ok).toBe(false)
  const w = await net.fetch(h2, 'http://127.0.0.1:8080/v1/targets', { method: 'POST', body: JSON.stringify({ id: 'x', url: `${FARM}/t/0` }) })
  expect(w.status).toBe(503)
  expect(w.body).toContain('write not acknowledged')

  net.heal()
  await eventually(async () => (await api(2, '/healthz')).store.ok === true, 20_000, 'h2 a member again')
  await eventually(async () => {
    const by = await checkedBy(1500)
    return (by.get('h2') ?? 0) > 0 && (by.get('h1') ?? 0) + (by.get('h2') ?? 0) === TARGETS
  }, 30_000, 'h2 checking its share again, each target once')
}, 150_000)
