/**
 * Header references resolved by the real prober on the checking node (SPEC.md
 * "Secrets"): the value reaches the server, a missing variable or file fails the
 * check naming header, source and node, and files are cached for a TTL on the
 * prober's clock (a SimClock here, so no test waits for it). One Bun.serve on
 * 127.0.0.1:0 records what arrives; it and the temp dir are removed in afterAll.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { HeaderValue, Target } from '../../src/config/types.ts'
import { createProber } from '../../src/runtime/http-prober.ts'
import { SecretValues } from '../../src/runtime/secret-values.ts'
import { SimClock } from '../sim/sim-clock.ts'

const dir = mkdtempSync(join(tmpdir(), 'heck-secrets-'))
const seen: Array<Record<string, string>> = []
let server: ReturnType<typeof Bun.serve>
let base = ''

beforeAll(() => {
  server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      seen.push(Object.fromEntries(req.headers))
      return new Response('ok')
    },
  })
  base = `http://127.0.0.1:${server.port}`
})
afterAll(() => {
  server.stop(true)
  rmSync(dir, { recursive: true, force: true })
})

const target = (headers: Record<string, HeaderValue>): Target => ({
  id: 't',
  check: { kind: 'http', url: `${base}/h`, method: 'GET', headers },
  intervalMs: 1000,
  timeoutMs: 500,
  rise: 1,
  fall: 1,
  expect: { status: [] },
  connection: 'reuse',
})

test('an {env} reference sends the variable; a missing one fails the check naming header, variable and node', async () => {
  const env: Record<string, string | undefined> = { API_TOKEN: 'Bearer from-env' }
  const prober = createProber({ version: '1', nodeName: 'n2', env })
  const t = target({ Authorization: { env: 'API_TOKEN' } })
  expect((await prober.probe(t, AbortSignal.timeout(500))).ok).toBe(true)
  expect(seen.at(-1)?.authorization).toBe('Bearer from-env')
  delete env.API_TOKEN
  const before = seen.length
  expect(await prober.probe(t, AbortSignal.timeout(500))).toEqual({
    ok: false,
    latencyMs: 0,
    error: 'header Authorization: environment variable API_TOKEN is not set on node n2',
  })
  expect(seen.length).toBe(before) // nothing was sent without the header
  env.API_TOKEN = ''
  expect((await prober.probe(t, AbortSignal.timeout(500))).error).toBe('header Authorization: environment variable API_TOKEN is empty on node n2')
})

test('a {file} reference sends the content without its trailing newline; a missing file names the path and node', async () => {
  const path = join(dir, 'token')
  writeFileSync(path, 'Bearer from-file\n')
  const prober = createProber({ version: '1', nodeName: 'n3', clock: new SimClock() })
  expect((await prober.probe(target({ 'X-Key': { file: path }, Host: 'h.example' }), AbortSignal.timeout(500))).ok).toBe(true)
  expect(seen.at(-1)).toMatchObject({ 'x-key': 'Bearer from-file', host: 'h.example' })
  const missing = await prober.probe(target({ 'X-Key': { file: join(dir, 'nope') } }), AbortSignal.timeout(500))
  expect(missing.error).toBe(`header X-Key: file ${join(dir, 'nope')} does not exist on node n3`)
})

test('files are read again after the TTL, not on every check; checks during a read share it', async () => {
  const path = join(dir, 'rotating')
  writeFileSync(path, 'v1\n')
  const clock = new SimClock()
  const sv = new SecretValues({ nodeName: 'n1', clock, fileTtlMs: 5000 })
  const [a, b] = await Promise.all([sv.resolve({ file: path }), sv.resolve({ file: path })])
  expect(a).toEqual({ ok: true, value: 'v1' })
  expect(b).toEqual(a)
  writeFileSync(path, 'v2\n')
  clock.advance(4999)
  expect(await sv.resolve({ file: path })).toEqual({ ok: true, value: 'v1' })
  clock.advance(1)
  expect(await sv.resolve({ file: path })).toEqual({ ok: true, value: 'v2' })
  // A failed read is cached the same way, and recovers after the TTL.
  rmSync(path)
  clock.advance(5000)
  expect((await sv.resolve({ file: path })).ok).toBe(false)
  writeFileSync(path, 'v3')
  expect((await sv.resolve({ file: path })).ok).toBe(false)
  clock.advance(5000)
  expect(await sv.resolve({ file: path })).toEqual({ ok: true, value: 'v3' })
})

test('unreadable, multi-line, empty and oversized files are errors that say so', async () => {
  const clock = new SimClock()
  const sv = new SecretValues({ nodeName: 'n1', clock })
  const write = (name: string, text: string) => {
    const p = join(dir, name)
    writeFileSync(p, text)
    return p
  }
  expect(await sv.resolve({ file: write('two-lines', 'a\nb\n') })).toEqual({ ok: false, error: `file ${join(dir, 'two-lines')} on node n1 holds a line break or NUL inside; a header value is one line` })
  expect(await sv.resolve({ file: write('empty', '\n') })).toEqual({ ok: false, error: `file ${join(dir, 'empty')} is empty on node n1` })
  expect((await sv.resolve({ file: write('big', 'x'.repeat(70_000)) })) as unknown).toMatchObject({ ok: false, error: expect.stringContaining('a header value file holds at most 65536') })
  expect(await sv.resolve({ file: dir })).toEqual({ ok: false, error: `file ${dir} on node n1 is not a regular file` })
  if (process.getuid?.() !== 0) {
    const p = write('locked', 'x')
    chmodSync(p, 0o000)
    expect(await sv.resolve({ file: p })).toEqual({ ok: false, error: `file ${p} is not readable on node n1 (permission denied)` })
  }
})
