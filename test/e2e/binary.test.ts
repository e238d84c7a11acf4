/**
 * The compiled binary end to end over real sockets: `heck farm` and `heck agent`
 * as separate processes, the CLI against the agent's API, reload, a failing
 * target, API writes, and a graceful exit on SIGTERM.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { ensureBinary, eventually, freePort } from '../helpers/binary.ts'

let bin = ''
const dir = mkdtempSync(join(tmpdir(), 'heck-e2e-'))
const procs: Subprocess[] = []
const farmPort = freePort()
const httpPort = freePort()
const api = `http://127.0.0.1:${httpPort}`

const run = async (...args: string[]) => {
  const p = Bun.spawn([bin, ...args], { stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  return { out, err, code }
}
const json = async (path: string, init?: RequestInit) => (await fetch(`${api}${path}`, init)).json() as Promise<any>

beforeAll(async () => {
  bin = await ensureBinary()
  procs.push(Bun.spawn([bin, 'farm', '--port', String(farmPort), '--count', '4'], { stdout: 'ignore', stderr: 'ignore' }))
  await eventually(() => fetch(`http://127.0.0.1:${farmPort}/admin/healthz`).then((r) => r.ok), 10_000, 'farm')
}, 120_000)

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

test('agent checks the farm, reloads, reports through the CLI, and leaves on SIGTERM', async () => {
  const targets = join(dir, 'targets.yaml')
  const yaml = (n: number) =>
    `defaults: {interval: 300ms, timeout: 200ms, rise: 1, fall: 2}\ntargets:\n${Array.from({ length: n }, (_, i) => `  - {id: t${i}, url: "http://127.0.0.1:${farmPort}/t/${i}"}`).join('\n')}\n`
  writeFileSync(targets, yaml(2))
  const agent = Bun.spawn([bin, 'agent', '--name', 'e2e', '--targets', targets, '--http', `127.0.0.1:${httpPort}`, '--bind', '127.0.0.1:0'], {
    stdout: 'pipe',
    stderr: 'pipe',
  })
  procs.push(agent)

  await eventually(async () => (await json('/v1/health')).targets.filter((t: any) => t.status === 'healthy').length === 2, 10_000, 'two healthy targets')
  const status = await run('status', '--http', `127.0.0.1:${httpPort}`)
  expect(status.code).toBe(0)
  expect(status.out).toMatch(/t0\s+healthy\s+e2e/)
  expect(status.out).toContain('answered by e2e')

  // The file changes: a third target appears without a restart.
  writeFileSync(targets, yaml(3))
  await eventually(async () => (await json('/v1/health')).targets.length === 3, 10_000, 'reload to 3 targets')

  // An invalid file is refused and the old configuration stays.
  writeFileSync(targets, 'targets: [{id: x}]')
  await Bun.sleep(800)
  expect((await json('/v1/health')).targets).toHaveLength(3)
  expect(await (await fetch(`${api}/metrics`)).text()).toContain('heck_config_reload_errors_total 1')

  // A farm endpoint fails: the target turns unhealthy, seen by `heck status --unhealthy`.
  await fetch(`http://127.0.0.1:${farmPort}/admin/targets/1`, { method: 'POST', body: JSON.stringify({ mode: 'fail', status: 500 }) })
  await eventually(async () => (await json('/v1/health?status=unhealthy')).targets.some((t: any) => t.id === 't1'), 10_000, 't1 unhealthy')
  const bad = await run('status', '--http', `127.0.0.1:${httpPort}`, '--unhealthy', '--json')
  expect(JSON.parse(bad.out).targets.map((t: any) => t.id)).toEqual(['t1'])

  // API writes (loopback, no token): add, then delete.
  const add = await fetch(`${api}/v1/targets`, { method: 'POST', body: JSON.stringify({ id: 'extra', url: `http://127.0.0.1:${farmPort}/t/3`, interval: '300ms' }) })
  expect(add.status).toBe(201)
  await eventually(async () => (await json('/v1/targets/extra')).target?.status === 'healthy', 10_000, 'extra healthy')
  expect((await fetch(`${api}/v1/targets/extra`, { method: 'DELETE' })).status).toBe(204)
  expect((await fetch(`${api}/v1/targets/extra`)).status).toBe(404)

  // Graceful exit within 5 s.
  const t0 = Date.now()
  agent.kill('SIGTERM')
  expect(await agent.exited).toBe(0)
  expect(Date.now() - t0).toBeLessThan(5000)
}, 60_000)

test('bad flags and files exit 2 with one line naming the problem', async () => {
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, 'targets:\n  - {id: a, url: "http://x/", interval: 1s, timeout: 2s}\n')
  const r = await run('agent', '--targets', bad, '--http', `127.0.0.1:${freePort()}`)
  expect(r.code).toBe(2)
  expect(r.err.trim().split('\n')).toHaveLength(1)
  expect(r.err).toContain('target "a".timeout')
  const u = await run('status', '--nope')
  expect(u.code).toBe(2)
  expect((await run('version')).out).toMatch(/^heck \d+\.\d+\.\d+/)
}, 30_000)
