/**
 * The etcd store's faults and their answers (SPEC.md "Consensus through etcd"), with
 * the compiled binary and a real etcd: a malformed `--store` exits 2; etcd out of
 * reach at start-up leaves the agent running, saying so in /healthz, refusing writes
 * with a 503, until etcd comes; an agent cut off from etcd (its connection runs
 * through a proxy the test cuts) stops checking once its lease has lapsed, answers
 * with a growing data age and refuses writes, while the other takes its targets; after
 * the heal it is a member again and takes its share back.
 */
import { afterAll, expect, test } from 'bun:test'
import type { Subprocess } from 'bun'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startFarm } from '../../src/farm/farm.ts'
import { ensureBinary, eventually, freePort } from '../helpers/binary.ts'
import { EtcdCluster, etcdBinary } from '../helpers/etcd-cluster.ts'

const bin = etcdBinary()
const dir = mkdtempSync(join(tmpdir(), 'heck-etcd-faults-'))
const procs: Subprocess[] = []
const clusters: EtcdCluster[] = []
const farm = startFarm({ count: 20, seed: 5 })
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL')
  for (const c of clusters) await c.stop()
  await farm.stop()
  rmSync(dir, { recursive: true, force: true })
})

function agent(heck: string, name: string, store: string, extra: string[] = []) {
  const http = freePort()
  const p = Bun.spawn([heck, 'agent', '--name', name, '--http', `127.0.0.1:${http}`, '--store', store, '--lease-ttl', '2s', ...extra], { stdout: 'ignore', stderr: Bun.file(join(dir, `${name}.log`)) })
  procs.push(p)
  const url = `http://127.0.0.1:${http}`
  return { name, url, p, get: async (path: string) => (await fetch(`${url}${path}`, { signal: AbortSignal.timeout(3000) })).json() as Promise<any> }
}

test('a malformed --store exits 2 and says what to give', async () => {
  const heck = await ensureBinary()
  for (const bad of ['etcd://', 'etcd://nohost', 'http://127.0.0.1:2379', 'etcd://127.0.0.1:2379/', 'etcd://127.0.0.1:99999', 'etcd://127.0.0.1:2379/a//b', 'consul://x:1']) {
    const r = Bun.spawnSync([heck, 'agent', '--store', bad, '--http', '127.0.0.1:0'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr.toString()).toMatch(/--store: .*(give gossip, or etcd:\/\/HOST:PORT|prefix)/)
  }
  expect(Bun.spawnSync([heck, 'agent', '--lease-ttl', '1s', '--store', 'etcd://127.0.0.1:2379']).stderr.toString()).toContain('--lease-ttl: from 2s to 5m')
})

test.skipIf(!bin)('etcd out of reach at start: the agent runs, /healthz says so, writes get 503; once etcd is up it is a member and writes work', async () => {
  const heck = await ensureBinary()
  const etcd = new EtcdCluster(bin as string, 1)
  clusters.push(etcd)
  const a = agent(heck, 'early', `etcd://${etcd.endpoints[0]}/early`)
  await eventually(async () => (await a.get('/healthz').catch(() => null))?.ok === true, 10_000, 'agent up')
  const hz = await a.get('/healthz')
  expect(hz.store).toMatchObject({ kind: 'etcd', ok: false })
  expect(hz.store.detail).toMatch(/etcd unreachable/)
  const refused = await fetch(`${a.url}/v1/targets`, { method: 'POST', body: JSON.stringify({ id: 'w', url: 'http://127.0.0.1:1/' }) })
  expect(refused.status).toBe(503)
  expect(((await refused.json()) as { error: string; detail: string }).detail).toMatch(/etcd unreachable/)
  await etcd.startAll()
  await eventually(async () => (await a.get('/healthz')).store.ok === true, 15_000, 'a member once etcd is up')
  const ok = await fetch(`${a.url}/v1/targets`, { method: 'POST', body: JSON.stringify({ id: 'w', url: 'http://127.0.0.1:1/' }) })
  expect(ok.status).toBe(201)
}, 60_000)

/** A TCP proxy to etcd that the test can cut (every connection dropped, nothing accepted) and heal. */
function proxy(port: number, to: string) {
  const [host, toPort] = to.split(':') as [string, string]
  const socks = new Set<Socket>()
  let server: Server | undefined
  const open = () =>
    new Promise<void>((resolve) => {
      server = createServer((s) => {
        const up = connect(Number(toPort), host)
        socks.add(s).add(up)
        s.pipe(up).on('error', () => {})
        up.pipe(s).on('error', () => {})
        const drop = () => (s.destroy(), up.destroy())
        s.on('close', drop).on('error', drop)
        up.on('close', drop).on('error', drop)
      })
      server.listen(port, '127.0.0.1', resolve)
    })
  return {
    open,
    cut: () => {
      server?.close()
      for (const s of socks) s.destroy()
      socks.clear()
    },
  }
}

test.skipIf(!bin)('an agent cut off from etcd stops checking once its lease lapsed, refuses writes, answers stale; after the heal it takes its share back', async () => {
  const heck = await ensureBinary()
  const etcd = new EtcdCluster(bin as string, 1)
  clusters.push(etcd)
  await etcd.startAll()
  const port = freePort()
  const px = proxy(port, etcd.endpoints[0] as string)
  await px.open()
  const targets = join(dir, 'targets.yaml')
  writeFileSync(targets, farm.targetsYaml({ count: 20, intervalMs: 500 }))
  const a = agent(heck, 'direct', `etcd://${etcd.endpoints[0]}/cut`, ['--targets', targets])
  const b = agent(heck, 'proxied', `etcd://127.0.0.1:${port}/cut`, ['--targets', targets])
  const checkedBy = async (ms: number) => {
    farm.reset('counters')
    await Bun.sleep(ms)
    const st = farm.stats()
    const by = new Map<string, number>()
    for (let i = 0; i < 20; i++) for (const n of Object.keys(st.targets?.[String(i)]?.nodes ?? {})) by.set(n, (by.get(n) ?? 0) + 1)
    return by
  }
  await eventually(async () => {
    const by = await checkedBy(1500)
    return (by.get('direct') ?? 0) > 0 && (by.get('proxied') ?? 0) > 0 && (by.get('direct') ?? 0) + (by.get('proxied') ?? 0) === 20
  }, 20_000, 'both checking, each target once')

  px.cut()
  const cutAt = Date.now()
  await eventually(async () => (await b.get('/healthz')).store.ok === false, 8000, 'the cut-off agent to say so')
  // Past its lease (2 s) it checks nothing; the other checks everything.
  await eventually(async () => {
    const by = await checkedBy(1500)
    return (by.get('proxied') ?? 0) === 0 && (by.get('direct') ?? 0) === 20
  }, 10_000, 'the majority side to check every target, the cut-off one none')
  console.log(`etcd mode: cut off → checking nothing, the other checking all, within ${Date.now() - cutAt} ms (lease 2 s)`)
  const w = await fetch(`${b.url}/v1/targets`, { method: 'POST', body: JSON.stringify({ id: 'x', url: 'http://127.0.0.1:1/' }) })
  expect(w.status).toBe(503)
  const age1 = (await b.get('/v1/health')).data_age_ms as number
  await Bun.sleep(1200)
  const age2 = (await b.get('/v1/health')).data_age_ms as number
  expect(age2).toBeGreaterThan(age1)
  const self = ((await b.get('/v1/members')).members as Array<{ name: string; state: string }>).find((m) => m.name === 'proxied')
  expect(self?.state).toBe('dead')

  await px.open()
  await eventually(async () => (await b.get('/healthz')).store.ok === true, 15_000, 'a member again after the heal')
  await eventually(async () => {
    const by = await checkedBy(1500)
    return (by.get('proxied') ?? 0) > 0 && (by.get('direct') ?? 0) + (by.get('proxied') ?? 0) === 20
  }, 20_000, 'its share back, each target once')
  px.cut()
}, 120_000)

test.skipIf(!bin)('heck demo --store etcd: a local etcd, agents through it, a table of targets; everything stopped after', async () => {
  const heck = await ensureBinary()
  expect(Bun.spawnSync([heck, 'demo', '--store', 'zookeeper']).exitCode).toBe(2)
  const p = Bun.spawn([heck, 'demo', '--store', 'etcd', '--no-tui', '--nodes', '2', '--targets', '5'], { stdout: 'pipe', stderr: 'pipe' })
  procs.push(p)
  let out = ''
  const reader = (async () => {
    for await (const chunk of p.stdout) out += new TextDecoder().decode(chunk)
  })()
  let err = ''
  void (async () => {
    for await (const chunk of p.stderr) err += new TextDecoder().decode(chunk)
  })()
  await eventually(() => /5 targets: [1-5] healthy/.test(out), 30_000, 'the demo table with healthy targets')
  expect(err).toMatch(/etcd at 127\.0\.0\.1:\d+ \(single member\)/)
  const endpoint = /etcd at (127\.0\.0\.1:\d+)/.exec(err)![1]
  p.kill('SIGTERM')
  expect(await p.exited).toBe(0)
  await reader
  expect(await fetch(`http://${endpoint}/health`).then(() => 'up', () => 'gone')).toBe('gone')
}, 60_000)
