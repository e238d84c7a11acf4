/**
 * Prometheus conventions on a real agent (issue 17): `promtool check metrics` passes;
 * every labelled counter has its known label values at 0 from the start; `process_*`,
 * `heck_build_info` and the per-target latency of what the node checks are there; and a
 * real Prometheus server scraping a 3-agent cluster sees `heck_target_up` for every
 * target from every agent.
 */
import { afterAll, expect, test } from 'bun:test'
import type { Subprocess } from 'bun'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFarm } from '../../src/farm/farm.ts'
import { AgentSet } from '../helpers/agents.ts'
import { ensureBinary, eventually, freePort } from '../helpers/binary.ts'

const dir = mkdtempSync(join(tmpdir(), 'heck-prom-'))
const farm = startFarm({ count: 5, seed: 8 })
let set: AgentSet | undefined
let prom: Subprocess | undefined
afterAll(async () => {
  prom?.kill('SIGKILL')
  await set?.stopAll()
  await farm.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('a fresh agent: promtool passes; labelled counters at 0; process_*, build info, per-target latency', async () => {
  const targets = join(dir, 'targets.yaml')
  writeFileSync(targets, farm.targetsYaml({ count: 5, intervalMs: 500 }))
  set = new AgentSet(await ensureBinary(), 3, { names: 'p', targetsPath: targets })
  set.startAll()
  await set.waitConverged()
  const a = set.agents[0]!
  await eventually(async () => (await (await fetch(`${set!.url(a)}/metrics`)).text()).includes('heck_target_latency_seconds{target='), 15_000, 'latency series')
  const text = await (await fetch(`${set.url(a)}/metrics`)).text()
  for (const series of [
    'heck_packets_dropped_total{reason="replay"} 0',
    'heck_packets_dropped_total{reason="frame-timeout"} 0',
    'heck_gossip_deltas_total{result="rejected"} 0',
    'heck_crdt_sync_replies_total{kind="full"} 0',
    'heck_webhook_deliveries_total{result="failed"} 0',
    'heck_notifications_total{kind="down",result="failed"} 0',
    'heck_confirmations_total{outcome="disagreed"} 0',
    'heck_build_info{version="',
  ]) {
    expect(text).toContain(series)
  }
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'process_open_fds', 'process_max_fds', 'process_virtual_memory_bytes', 'heck_checks_total{result="fail"}']) {
    expect(text).toMatch(new RegExp(`^${name.replace(/[{}"]/g, '.')} [0-9.e+]+$`, 'm'))
  }
  const promtool = Bun.which('promtool')
  if (!promtool) return console.warn('SKIP promtool check metrics: promtool not found (apt-get install prometheus)')
  const p = Bun.spawnSync([promtool, 'check', 'metrics'], { stdin: Buffer.from(text) })
  expect(p.stdout.toString() + p.stderr.toString()).toBe('')
  expect(p.exitCode).toBe(0)
}, 60_000)

test('a real Prometheus scraping 3 agents sees heck_target_up for every target from every agent', async () => {
  const bin = Bun.which('prometheus')
  if (!bin || !set) return console.warn('SKIP the Prometheus scrape: prometheus not found (apt-get install prometheus)')
  const port = freePort()
  const targets = set.agents.map((a) => `127.0.0.1:${a.http}`)
  writeFileSync(join(dir, 'prom.yml'), `global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: heck\n    static_configs: [{targets: ${JSON.stringify(targets)}}]\n`)
  prom = Bun.spawn([bin, `--config.file=${join(dir, 'prom.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], { stdout: 'ignore', stderr: Bun.file(join(dir, 'prom.log')) })
  const query = async (q: string) => ((await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data?.result ?? []
  await eventually(async () => (await query('heck_target_up').catch(() => [])).length === 5 * 3, 40_000, 'heck_target_up: 5 targets × 3 agents')
  const got = await query('heck_target_up')
  const byInstance = new Map<string, Set<string>>()
  for (const r of got) byInstance.set(r.metric.instance as string, (byInstance.get(r.metric.instance as string) ?? new Set()).add(r.metric.target as string))
  expect([...byInstance.keys()].sort()).toEqual([...targets].sort())
  for (const ids of byInstance.values()) expect([...ids].sort()).toEqual(['t0', 't1', 't2', 't3', 't4'])
  expect(got.every((r) => r.value[1] === '1')).toBe(true)
}, 90_000)
