/**
 * Alerts through the real Alertmanager (issue 14): AGENTS agents of the compiled
 * binary, a farm, and prometheus-alertmanager whose webhook receiver is a recorder in
 * this process; heck posts to Alertmanager through a pass-through proxy here that
 * notes when each alert arrived.
 *
 *   1. Latency: for confirm 1 and then 2, SAMPLES targets fail one at a time (checked
 *      every 500 ms, fall 1); the time from the failure to heck's alert reaching
 *      Alertmanager, and to Alertmanager's notification reaching the receiver
 *      (group_wait 1s), p50 and p99.
 *   2. Once per incident: INCIDENTS targets fail in waves of WAVE; in every wave the
 *      owner of one failing target is SIGKILLed, the targets recover, the agent comes
 *      back. Counted: incidents whose receiver got exactly one firing and one resolved.
 *
 *   bun bench/alerts.ts     (AGENTS=4 SAMPLES=20 INCIDENTS=100 WAVE=20)
 */
import type { Subprocess } from 'bun'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFarm } from '../src/farm/farm.ts'
import { AgentSet } from '../test/helpers/agents.ts'
import { ensureBinary, freePort } from '../test/helpers/binary.ts'
import { benchDeadline, finish } from './lib/procs.ts'

const AGENTS = Number(process.env.AGENTS ?? 4)
const SAMPLES = Number(process.env.SAMPLES ?? 20)
const INCIDENTS = Number(process.env.INCIDENTS ?? 100)
const WAVE = Number(process.env.WAVE ?? 20)
benchDeadline(20 * 60_000)
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN

async function until(what: string, fn: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(20)
  }
}

await finish(async () => {
  const amBin = Bun.which('prometheus-alertmanager') ?? Bun.which('alertmanager')
  if (!amBin) throw new Error('prometheus-alertmanager not found: apt-get install prometheus-alertmanager')
  const dir = mkdtempSync(join(tmpdir(), 'heck-bench-alerts-'))
  const count = Math.max(SAMPLES * 2, INCIDENTS) + 2
  const farm = startFarm({ count, seed: 4 })
  const atAm = new Map<string, number>()
  const atReceiver: Array<{ target: string; status: string; at: number }> = []
  const amPort = freePort()
  const receiver = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(r) {
      const b = (await r.json()) as { alerts: Array<{ status: string; labels: Record<string, string> }> }
      for (const a of b.alerts) atReceiver.push({ target: a.labels.target ?? '?', status: a.status, at: Date.now() })
      return new Response('ok')
    },
  })
  const proxy = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(r) {
      const body = await r.text()
      for (const a of JSON.parse(body) as Array<{ labels: Record<string, string>; endsAt?: string }>) {
        const k = `${a.labels.target}:${a.endsAt && Date.parse(a.endsAt) <= Date.now() ? 'resolved' : 'firing'}`
        if (!atAm.has(k)) atAm.set(k, Date.now())
      }
      return fetch(`http://127.0.0.1:${amPort}${new URL(r.url).pathname}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
    },
  })
  writeFileSync(
    join(dir, 'am.yml'),
    `route: {receiver: rec, group_by: [alertname, target], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}\nreceivers:\n  - name: rec\n    webhook_configs: [{url: "http://127.0.0.1:${receiver.port}/", send_resolved: true}]\n`,
  )
  const am: Subprocess = Bun.spawn([amBin, `--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'am')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='], { stdout: 'ignore', stderr: 'ignore' })
  let set: AgentSet | undefined
  try {
    await until('Alertmanager ready', async () => (await fetch(`http://127.0.0.1:${amPort}/-/ready`).catch(() => null))?.ok === true, 20_000)
    const file = join(dir, 'targets.yaml')
    const write = (confirm: number) =>
      writeFileSync(file, `${farm.targetsYaml({ count, intervalMs: 500, rise: 1, fall: 1 }).replace('defaults:', `defaults:\n  confirm: ${confirm}`)}alertmanager:\n  urls: [http://127.0.0.1:${proxy.port}]\n  resend: 5s\n`)
    write(1)
    set = new AgentSet(await ensureBinary(), AGENTS, { names: 'al', targetsPath: file })
    set.startAll()
    await set.waitConverged()
    await Bun.sleep(4000)
    const load = async () => (await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' ')
    console.log(`alerts: ${AGENTS} agents, ${count} targets at 500 ms (fall 1), Alertmanager ${amBin}; load ${await load()}`)

    const latency: Record<string, { am: number[]; rx: number[] }> = {}
    for (const confirm of [1, 2]) {
      write(confirm)
      for (const a of set.running()) a.proc?.kill('SIGHUP')
      await Bun.sleep(2000)
      const am1: number[] = []
      const rx: number[] = []
      for (let i = 0; i < SAMPLES; i++) {
        const n = (confirm - 1) * SAMPLES + i
        const id = `t${n}`
        const t0 = Date.now()
        farm.setMode(String(n), { mode: 'fail', status: 503 })
        await until(`${id} at the receiver`, () => atReceiver.some((x) => x.target === id && x.status === 'firing'), 20_000)
        am1.push((atAm.get(`${id}:firing`) ?? NaN) - t0)
        rx.push(atReceiver.find((x) => x.target === id && x.status === 'firing')!.at - t0)
        farm.setMode(String(n), { mode: 'ok' })
        await Bun.sleep(300)
      }
      latency[`confirm ${confirm}`] = { am: am1, rx }
      let confirmations = 0
      for (const a of set.running()) {
        const text = await (await fetch(`${set.url(a)}/metrics`)).text()
        for (const m of text.matchAll(/^heck_confirmations_total\{outcome="confirmed"\} (\d+)/gm)) confirmations += Number(m[1])
      }
      console.log(`confirm ${confirm}: ${confirmations} confirmations by other nodes so far (heck_confirmations_total)`)
    }
    await Bun.sleep(5000) // the last resolved ones
    write(1)
    for (const a of set.running()) a.proc?.kill('SIGHUP')
    await Bun.sleep(2000)

    // 2. Once per incident, owners killed and restarted.
    const before = atReceiver.length
    const ids = Array.from({ length: INCIDENTS }, (_, i) => `t${i}`)
    const fresh = () => atReceiver.slice(before)
    let kills = 0
    for (let w = 0; w < INCIDENTS; w += WAVE) {
      const wave = ids.slice(w, w + WAVE)
      farm.setMode(wave.map((id) => id.slice(1)), { mode: 'fail', status: 503 })
      await until('the wave firing', () => wave.every((id) => fresh().some((x) => x.target === id && x.status === 'firing')), 30_000)
      const h = (await set.get(set.running()[0]!, '/v1/health')).targets as Array<{ id: string; owner: string }>
      const owner = h.find((t) => t.id === wave[0])!.owner
      const victim = set.agents.find((a) => a.name === owner)!
      await set.kill(victim)
      kills++
      await Bun.sleep(1000)
      farm.setMode(wave.map((id) => id.slice(1)), { mode: 'ok' })
      await until('the wave resolved', () => wave.every((id) => fresh().some((x) => x.target === id && x.status === 'resolved')), 40_000).catch((e) => console.log(String(e)))
      set.start(victim)
      await set.waitConverged(30_000)
      await Bun.sleep(3000)
    }
    await Bun.sleep(6000)
    const exact = ids.filter((id) => {
      const mine = fresh().filter((x) => x.target === id)
      return mine.filter((x) => x.status === 'firing').length === 1 && mine.filter((x) => x.status === 'resolved').length === 1
    })
    console.log(`load at end ${await load()}\n`)
    console.log('| figure | confirm 1 | confirm 2 |\n|---|---|---|')
    const c1 = latency['confirm 1']!
    const c2 = latency['confirm 2']!
    console.log(`| failure → alert at Alertmanager, p50 / p99 (n=${SAMPLES}) | ${q(c1.am, 0.5).toFixed(0)} / ${q(c1.am, 0.99).toFixed(0)} ms | ${q(c2.am, 0.5).toFixed(0)} / ${q(c2.am, 0.99).toFixed(0)} ms |`)
    console.log(`| failure → Alertmanager's notification at the receiver (group_wait 1s), p50 / p99 | ${q(c1.rx, 0.5).toFixed(0)} / ${q(c1.rx, 0.99).toFixed(0)} ms | ${q(c2.rx, 0.5).toFixed(0)} / ${q(c2.rx, 0.99).toFixed(0)} ms |`)
    console.log(`\nonce per incident: ${exact.length} of ${INCIDENTS} incidents got exactly one firing and one resolved notification (${kills} owners SIGKILLed mid-incident and restarted)`)
    const off = ids.filter((id) => !exact.includes(id)).slice(0, 5)
    for (const id of off) console.log(`  ${id}: ${JSON.stringify(fresh().filter((x) => x.target === id).map((x) => x.status))}`)
    return 0
  } finally {
    await set?.stopAll()
    am.kill('SIGKILL')
    receiver.stop(true)
    proxy.stop(true)
    await farm.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})
