/**
 * The compiled agent with a damaged history file (SPEC.md "HTTP API", history
 * unavailable): garbage over the start of history.sqlite no longer makes every
 * start exit 1; garbage in the middle while it runs gives GET /v1/targets/ID a
 * 200 that says the history is unavailable (or the new, empty one), never a 500;
 * the damaged file is moved aside, logged once, and SIGTERM still exits 0 with
 * no "stop failed". Bounded: every wait has a deadline; every process is killed.
 */
import { afterAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { HistoryStore } from '../../src/history/history.ts'
import { realClock } from '../../src/runtime/real-clock.ts'
import { ensureBinary, eventually, freePort } from '../helpers/binary.ts'

const root = mkdtempSync(join(tmpdir(), 'heck-damage-'))
const procs: Subprocess[] = []
afterAll(() => {
  for (const p of procs) p.kill('SIGKILL')
  rmSync(root, { recursive: true, force: true })
})

let agents = 0
const garbage = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7919 + 13) & 255))

/** One agent on free ports watching one TCP target, with its stderr collected as it comes. */
async function startAgent(dataDir: string) {
  const bin = await ensureBinary()
  const http = freePort()
  const targets = join(dataDir, '..', `targets-${++agents}.yaml`)
  writeFileSync(targets, `targets:\n  - {id: web, tcp: "127.0.0.1:${freePort()}", interval: 1s, timeout: 500ms}\n`)
  const p = Bun.spawn([bin, 'agent', '--name', 'keeper', '--bind', `127.0.0.1:${freePort()}`, '--http', `127.0.0.1:${http}`, '--data-dir', dataDir, '--targets', targets], {
    stdout: 'ignore',
    stderr: 'pipe',
  })
  procs.push(p)
  let log = ''
  const reading = (async () => {
    const dec = new TextDecoder()
    for await (const chunk of p.stderr as unknown as AsyncIterable<Uint8Array>) log += dec.decode(chunk, { stream: true })
  })()
  const api = `http://127.0.0.1:${http}`
  const up = await eventually(async () => (p.exitCode !== null ? 'exited' : (await fetch(`${api}/healthz`)).ok && 'up'), 10_000, 'agent up')
  if (up === 'exited') {
    await reading
    throw new Error(`agent exited ${p.exitCode}: ${log.trim()}`)
  }
  const stop = async () => {
    p.kill('SIGTERM')
    const code = await p.exited
    await reading
    return code
  }
  return { api, p, log: () => log, stop }
}

test('garbage over the start of history.sqlite: the agent moves it aside, logs it, starts and serves', async () => {
  const dir = join(root, 'start')
  mkdirSync(dir)
  const bytes = garbage(64 * 1024)
  writeFileSync(join(dir, 'history.sqlite'), bytes)
  const a = await startAgent(dir) // today: exits 1, "heck agent: file is not a database", at every start
  const r = await fetch(`${a.api}/v1/targets/web`)
  expect(r.status).toBe(200)
  expect(((await r.json()) as any).target.history).toBeUndefined()
  expect(await a.stop()).toBe(0)
  const lines = a.log().split('\n').filter((l) => l.includes('moved it aside'))
  expect(lines).toHaveLength(1)
  expect(lines[0]).toContain(join(dir, 'history.sqlite'))
  const aside = /moved it aside to (\S+)/.exec(lines[0] as string)?.[1] as string
  expect(readFileSync(aside)).toEqual(bytes)
  expect(a.log()).not.toContain('stop failed')
}, 60_000)

/**
 * A history whose uptime lookups for `web` touch every leaf page of the minutes and hours
 * tables (each page holds rows of a few minutes or hours, and each of those has a `web`
 * row), so garbage in the middle of the file lies on the read path of GET /v1/targets/web.
 */
async function historyWithUptime(dir: string): Promise<void> {
  const h = await HistoryStore.open(dir, { clock: realClock, flushIntervalMs: 1e9, pruneIntervalMs: 1e9 })
  h.close()
  const db = new Database(join(dir, 'history.sqlite'))
  const now = Date.now()
  const minute = Math.floor(now / 60_000) * 60_000
  const hour = Math.floor(now / 3_600_000) * 3_600_000
  const ids = ['web', ...Array.from({ length: 19 }, (_, i) => `other-${i}`)]
  const m = db.prepare('INSERT INTO minutes (minute, target, checks, failures, latency_sum) VALUES (?1, ?2, 60, 0, 60)')
  const hr = db.prepare('INSERT INTO hours (hour, target, checks, failures, latency_sum) VALUES (?1, ?2, 3600, 0, 3600)')
  db.transaction(() => {
    for (let i = 1; i <= 55; i++) for (const id of ids) m.run(minute - i * 60_000, id)
    for (let i = 2; i <= 160; i++) for (const id of ids) hr.run(hour - i * 3_600_000, id)
  })()
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  db.close(true)
}

test('garbage in the middle of history.sqlite while running: GET /v1/targets/ID is 200 without history, never 500', async () => {
  const dir = join(root, 'middle')
  mkdirSync(dir)
  await historyWithUptime(dir)
  const path = join(dir, 'history.sqlite')
  const size = statSync(path).size
  const middle = Math.floor(size / 2 / 4096) * 4096
  // The 8 KB in the middle are pages of the minutes or hours table (each on web's read path).
  const probe = new Database(path, { readonly: true })
  const owners = probe.query<{ name: string }, [number, number]>('SELECT DISTINCT name FROM dbstat WHERE pageno BETWEEN ?1 AND ?2').all(middle / 4096 + 1, middle / 4096 + 2)
  probe.close(true)
  expect(owners.map((o) => o.name).every((n) => n === 'minutes' || n === 'hours')).toBe(true)

  const a = await startAgent(dir)
  const fd = openSync(path, 'r+')
  writeSync(fd, garbage(8192), 0, 8192, middle)
  closeSync(fd)

  const r = await fetch(`${a.api}/v1/targets/web`)
  const body = (await r.json()) as any
  expect(r.status).toBe(200) // today: 500 "database disk image is malformed"
  expect(body.target.id).toBe('web')
  expect(body.target.history).toBe('unavailable')
  expect(body.target.history_error).toContain('malformed')
  expect(body.target.history_error).toContain('moved it aside')
  // The next answer reads the new file: history again, empty.
  const again = (await (await fetch(`${a.api}/v1/targets/web`)).json()) as any
  expect(again.target.history).toBeUndefined()
  expect(again.target.uptime).toBeDefined()
  const metrics = await (await fetch(`${a.api}/metrics`)).text()
  expect(metrics).toContain('heck_history_recovered_total{when="runtime"} 1')
  expect(metrics).toContain('heck_history_errors_total{op="read"} 1')

  expect(await a.stop()).toBe(0)
  expect(a.log()).not.toContain('stop failed')
  const moved = a.log().split('\n').filter((l) => l.includes('moved it aside'))
  expect(moved).toHaveLength(1)
  const aside = /moved it aside to (\S+)/.exec(moved[0] as string)?.[1] as string
  expect(existsSync(aside)).toBe(true)
  expect(statSync(aside).size).toBeGreaterThanOrEqual(size)
}, 60_000)

test('a data dir the agent cannot use exits 2 with the dir and the fix (a config error, which the systemd unit does not restart)', async () => {
  const bin = await ensureBinary()
  const run = (dataDir: string, user?: string) => {
    const args = [bin, 'agent', '--data-dir', dataDir, '--http', '127.0.0.1:0', '--bind', `127.0.0.1:${freePort()}`]
    const p = Bun.spawnSync(user ? ['runuser', '-u', user, '--', ...args] : args, { timeout: 15_000 })
    return { code: p.exitCode, err: p.stderr.toString() }
  }
  const file = join(root, 'a-file')
  writeFileSync(file, 'not a directory')
  const r = run(file)
  expect(r.code).toBe(2)
  expect(r.err).toContain(`heck agent: --data-dir ${file} is not a directory`)
  expect(r.err).toContain('point --data-dir at a directory')
  // Not writable: only a user other than root feels the permissions.
  if (process.getuid?.() === 0 && Bun.which('runuser')) {
    const ro = join(root, 'read-only')
    mkdirSync(ro, { mode: 0o555 })
    Bun.spawnSync(['chmod', '755', root])
    const w = run(ro, 'nobody')
    expect(w.code).toBe(2)
    expect(w.err).toContain(`--data-dir ${ro} is not writable`)
    expect(w.err).toContain('make it writable by the user running heck')
  } else {
    console.warn('SKIP the read-only data dir case: it needs root and runuser to run the agent as another user')
  }
  const unit = readFileSync(join(import.meta.dir, '../../scripts/systemd.sh'), 'utf8')
  expect(unit).toContain('RestartPreventExitStatus=2')
}, 60_000)
