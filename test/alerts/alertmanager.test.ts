/**
 * The real Alertmanager as heck's receiver (issue 14): Debian's prometheus-alertmanager
 * on a loopback port, its webhook receiver pointed at a recorder in this test; 4 agents
 * of the compiled binary with `alertmanager:` in their targets file, and a farm. For
 * each of ROUNDS targets: it fails; once Alertmanager has notified, its owner is
 * SIGKILLed; it recovers under the next owner; the killed agent comes back. The
 * receiver must get exactly one firing and one resolved notification per target. A
 * silenced target, failing, sends nothing.
 */
import { afterAll, expect, test } from 'bun:test'
import type { Subprocess } from 'bun'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFarm } from '../../src/farm/farm.ts'
import { AgentSet } from '../helpers/agents.ts'
import { ensureBinary, eventually, freePort } from '../helpers/binary.ts'

const ROUNDS = Number(process.env.ROUNDS ?? 3)
const amBin = Bun.which('prometheus-alertmanager') ?? Bun.which('alertmanager')
if (!amBin) console.warn('SKIP: prometheus-alertmanager not found (apt-get install prometheus-alertmanager); the Alertmanager test did not run')
const dir = mkdtempSync(join(tmpdir(), 'heck-am-'))
const farm = startFarm({ count: Math.max(6, ROUNDS + 1), seed: 9 })
let am: Subprocess | undefined
let set: AgentSet | undefined
const received: Array<{ status: string; target: string; at: number }> = []
const recorder = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    const body = (await req.json()) as { alerts: Array<{ status: string; labels: Record<string, string> }> }
    for (const a of body.alerts) received.push({ status: a.status, target: a.labels.target ?? '?', at: Date.now() })
    return new Response('ok')
  },
})
afterAll(async () => {
  await set?.stopAll()
  am?.kill('SIGKILL')
  recorder.stop(true)
  await farm.stop()
  rmSync(dir, { recursive: true, force: true })
})

test.skipIf(!amBin)(`Alertmanager gets exactly one firing and one resolved per incident, the owner SIGKILLed midway (${ROUNDS} rounds)`, async () => {
  const amPort = freePort()
  writeFileSync(
    join(dir, 'am.yml'),
    `route:
  receiver: rec
  group_by: [alertname, target]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: rec
    webhook_configs:
      - url: http://127.0.0.1:${recorder.port}/
        send_resolved: true
`,
  )
  am = Bun.spawn([amBin as string, `--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'am-data')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='], {
    stdout: 'ignore',
    stderr: Bun.file(join(dir, 'am.log')),
  })
  await eventually(async () => (await fetch(`http://127.0.0.1:${amPort}/-/ready`).catch(() => null))?.ok, 20_000, 'Alertmanager ready')

  const targets = join(dir, 'targets.yaml')
  writeFileSync(targets, `${farm.targetsYaml({ count: Math.max(6, ROUNDS + 1), intervalMs: 500, rise: 1, fall: 1 })}alertmanager:\n  urls: [http://127.0.0.1:${amPort}]\n  labels: {env: test}\n  resend: 2s\n`)
  set = new AgentSet(await ensureBinary(), 4, { names: 'm', targetsPath: targets })
  set.startAll()
  await set.waitConverged()
  await Bun.sleep(3500) // join settling: the owners are final
  const health = async () => (await set!.get(set!.running()[0]!, '/v1/health')).targets as Array<{ id: string; owner: string; status: string }>
  await eventually(async () => (await health()).every((t) => t.status === 'healthy'), 20_000, 'all healthy')

  for (let r = 0; r < ROUNDS; r++) {
    const id = `t${r}`
    const owner = (await health()).find((t) => t.id === id)!.owner
    const victim = set.agents.find((a) => a.name === owner)!
    farm.setMode(String(r), { mode: 'fail', status: 503 })
    await eventually(() => received.some((x) => x.target === id && x.status === 'firing'), 20_000, `firing for ${id}`)
    await set.kill(victim) // the owner dies with the incident open
    await Bun.sleep(1000)
    farm.setMode(String(r), { mode: 'ok' })
    await eventually(() => received.some((x) => x.target === id && x.status === 'resolved'), 30_000, `resolved for ${id}`)
    set.start(victim)
    await set.waitConverged()
    await Bun.sleep(4000) // resends and the returning owner: nothing more may reach the receiver
  }
  // A silenced target sends nothing, while it is still checked and shown unhealthy.
  const silenced = `t${ROUNDS}`
  const made = await fetch(`${set.url(set.running()[0]!)}/v1/silences`, { method: 'POST', body: JSON.stringify({ target: silenced, duration: '10m', reason: 'maintenance' }) })
  expect(made.status).toBe(201)
  await Bun.sleep(1000)
  farm.setMode(String(ROUNDS), { mode: 'fail', status: 503 })
  await eventually(async () => (await health()).find((t) => t.id === silenced)?.status === 'unhealthy', 15_000, `${silenced} unhealthy`)
  await Bun.sleep(5000)
  expect(received.filter((x) => x.target === silenced)).toEqual([])
  farm.setMode(String(ROUNDS), { mode: 'ok' })

  const exact = Array.from({ length: ROUNDS }, (_, r) => `t${r}`).filter((id) => {
    const mine = received.filter((x) => x.target === id)
    return mine.filter((x) => x.status === 'firing').length === 1 && mine.filter((x) => x.status === 'resolved').length === 1
  })
  console.log(`Alertmanager: ${exact.length} of ${ROUNDS} incidents got exactly one firing and one resolved notification (received: ${JSON.stringify(received.map((x) => `${x.target}:${x.status}`))})`)
  expect(exact.length).toBe(ROUNDS)
  expect(received.every((x) => x.target.startsWith('t') && Number(x.target.slice(1)) < ROUNDS)).toBe(true)
}, 180_000)
