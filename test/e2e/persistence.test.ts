/**
 * With --data-dir, an agent's registry and health survive a restart: a target
 * added through the API (no targets file) is still there, with its status and
 * history, after a graceful stop and a start on its own.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { startFarm } from '../../src/farm/farm.ts'
import { ensureBinary, eventually, freePort } from '../helpers/binary.ts'

const dir = mkdtempSync(join(tmpdir(), 'heck-persist-'))
const farm = startFarm({ count: 2, seed: 5 })
const procs: Subprocess[] = []
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL')
  await farm.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('registry, health and history survive a restart with --data-dir', async () => {
  const bin = await ensureBinary()
  const http = freePort()
  const api = `http://127.0.0.1:${http}`
  const start = () => {
    const p = Bun.spawn([bin, 'agent', '--name', 'keeper', '--bind', `127.0.0.1:${freePort()}`, '--http', `127.0.0.1:${http}`, '--data-dir', dir], {
      stdout: 'ignore',
      stderr: 'pipe',
    })
    procs.push(p)
    return p
  }
  let p = start()
  await eventually(() => fetch(`${api}/healthz`).then((r) => r.ok), 10_000, 'agent up')
  const add = await fetch(`${api}/v1/targets`, { method: 'POST', body: JSON.stringify({ id: 'kept', url: `${farm.url}/t/1`, interval: '300ms', rise: 1 }) })
  expect(add.status).toBe(201)
  await eventually(async () => ((await (await fetch(`${api}/v1/targets/kept`)).json()) as any).target?.status === 'healthy', 10_000, 'kept healthy')
  p.kill('SIGTERM')
  expect(await p.exited).toBe(0)

  p = start()
  await eventually(() => fetch(`${api}/healthz`).then((r) => r.ok), 10_000, 'agent up again')
  // Present at once, from the saved state: no file and no peer brought it back.
  const t = ((await (await fetch(`${api}/v1/targets/kept`)).json()) as any).target
  expect(t.definition.url).toBe(`${farm.url}/t/1`)
  expect(t.status).toBe('healthy')
  expect(t.transitions.some((x: any) => x.to === 'healthy')).toBe(true)
  p.kill('SIGTERM')
  expect(await p.exited).toBe(0)
}, 60_000)
