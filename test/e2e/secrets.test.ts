/**
 * Check credentials end to end with the compiled binary: an agent with
 * --api-read-token and --data-dir checks a local server with a header from its
 * environment, a header from a file, a literal one, and one whose variable is missing.
 * The server gets the values; `heck status --json` and the API need a token and show
 * none of them; the log warns about the literal without quoting it; the data dir holds
 * references, not values. The agent and the server are stopped in afterAll.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { ensureBinary, eventually, freePort } from '../helpers/binary.ts'

const dir = mkdtempSync(join(tmpdir(), 'heck-e2e-secrets-'))
const dataDir = join(dir, 'data')
const procs: Subprocess[] = []
const got: Array<{ path: string; auth: string | null; key: string | null }> = []
let server: ReturnType<typeof Bun.serve>
let bin = ''

beforeAll(async () => {
  bin = await ensureBinary()
  server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      got.push({ path: new URL(req.url).pathname, auth: req.headers.get('authorization'), key: req.headers.get('x-key') })
      return new Response('ok')
    },
  })
}, 120_000)

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL')
  server.stop(true)
  rmSync(dir, { recursive: true, force: true })
})

const run = async (args: string[], env: Record<string, string> = {}) => {
  const p = Bun.spawn([bin, ...args], { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, HECK_TOKEN: '', ...env } })
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  return { out, err, code }
}

const SECRETS = /ENVSECRET|FILESECRET|LITSECRET/

test('values stay on the checking node; reads need the token and show no secret', async () => {
  const keyFile = join(dir, 'key')
  writeFileSync(keyFile, 'FILESECRET-77\n')
  const base = `http://127.0.0.1:${server.port}`
  const targets = join(dir, 'targets.yaml')
  writeFileSync(
    targets,
    `defaults: {interval: 300ms, timeout: 200ms, rise: 1, fall: 1}
targets:
  - {id: ref, url: "${base}/ref", headers: {Authorization: {env: HECK_E2E_TOKEN}, X-Key: {file: ${keyFile}}}}
  - {id: lit, url: "${base}/lit", headers: {Authorization: "Bearer LITSECRET-55"}}
  - {id: gone, url: "${base}/gone", headers: {Authorization: {env: HECK_E2E_MISSING}}}
`,
  )
  const http = freePort()
  const addr = `127.0.0.1:${http}`
  const env: Record<string, string | undefined> = { ...process.env, HECK_E2E_TOKEN: 'Bearer ENVSECRET-33' }
  delete env.HECK_E2E_MISSING
  const agent = Bun.spawn(
    [bin, 'agent', '--name', 'sec', '--bind', `127.0.0.1:${freePort()}`, '--http', addr, '--targets', targets, '--data-dir', dataDir, '--api-token', 'writer-1', '--api-read-token', 'reader-1'],
    { stdout: 'ignore', stderr: 'pipe', env },
  )
  procs.push(agent)
  const stderr = new Response(agent.stderr).text()
  const read = (path: string, token = 'reader-1') => fetch(`http://${addr}${path}`, { headers: { authorization: `Bearer ${token}` } })
  await eventually(() => fetch(`http://${addr}/healthz`).then((r) => r.ok), 10_000, 'agent up')

  // The checking node resolved both references and sent the values.
  await eventually(() => got.some((g) => g.path === '/ref' && g.auth === 'Bearer ENVSECRET-33' && g.key === 'FILESECRET-77'), 10_000, 'the server got the values')
  expect(got.some((g) => g.path === '/gone')).toBe(false)

  // Reads need a token; /healthz does not.
  expect((await fetch(`http://${addr}/v1/health`)).status).toBe(401)
  expect((await fetch(`http://${addr}/metrics`)).status).toBe(401)
  const noToken = await run(['status', '--http', addr, '--json'])
  expect(noToken.code).toBe(1)
  expect(noToken.err).toContain('answered 401')
  expect(noToken.err).toContain('pass --token TOKEN or set HECK_TOKEN')
  expect((await run(['status', '--http', addr, '--token', 'wrong'])).err).toContain('the token was refused')

  // A missing variable fails its check, naming header, variable and node.
  const status = await eventually(async () => {
    const r = await run(['status', '--http', addr, '--json', '--token', 'reader-1'])
    const body = JSON.parse(r.out)
    return body.targets.find((t: any) => t.id === 'gone')?.last?.error ? r : undefined
  }, 10_000, 'gone checked')
  expect(status.code).toBe(0)
  expect(status.out).not.toMatch(SECRETS)
  const gone = JSON.parse(status.out).targets.find((t: any) => t.id === 'gone')
  expect(gone.last.error).toBe('header Authorization: environment variable HECK_E2E_MISSING is not set on node sec')
  const viaEnv = await run(['members', '--http', addr, '--json'], { HECK_TOKEN: 'writer-1' })
  expect(viaEnv.code).toBe(0)
  expect(JSON.parse(viaEnv.out).members[0].name).toBe('sec')

  // The definitions: references as themselves, the literal redacted.
  const ref = (await (await read('/v1/targets/ref')).json()) as any
  expect(ref.target.definition.headers).toEqual({ Authorization: { env: 'HECK_E2E_TOKEN' }, 'X-Key': { file: keyFile } })
  const lit = await (await read('/v1/targets/lit')).text()
  expect(lit).not.toMatch(SECRETS)
  expect(JSON.parse(lit).target.definition.headers).toEqual({ Authorization: '<redacted>' })
  expect(await (await read('/metrics', 'writer-1')).text()).toContain('heck_target_up{target="ref"} 1')

  agent.kill('SIGTERM')
  expect(await agent.exited).toBe(0)
  const log = await stderr
  expect(log).toContain('target "lit": header Authorization is a literal value')
  expect(log.match(/target "lit": header Authorization/g)).toHaveLength(1)
  expect(log).not.toMatch(SECRETS)

  // On disk: the literal (replicated as it is, as documented) and the references; never the values behind them.
  const disk = Buffer.concat(readdirSync(dataDir).map((f) => readFileSync(join(dataDir, f))))
  expect(disk.includes('LITSECRET-55')).toBe(true)
  expect(disk.includes('HECK_E2E_TOKEN')).toBe(true)
  expect(disk.includes('ENVSECRET')).toBe(false)
  expect(disk.includes('FILESECRET')).toBe(false)
}, 60_000)

test('token flags are checked: empty, not sendable, or a read token equal to the write token exit 2', async () => {
  const http = `127.0.0.1:${freePort()}`
  const empty = await run(['agent', '--http', http, '--api-read-token', ''])
  expect(empty.code).toBe(2)
  expect(empty.err).toContain('--api-read-token: empty')
  const spaced = await run(['agent', '--http', http, '--api-read-token', 'a b'])
  expect(spaced.code).toBe(2)
  expect(spaced.err).toContain('--api-read-token: must be printable ASCII without spaces')
  const same = await run(['agent', '--http', http, '--api-token', 'same', '--api-read-token', 'same'])
  expect(same.code).toBe(2)
  expect(same.err).toContain('--api-read-token: is the same as --api-token')
  const badClient = await run(['status', '--http', http, '--token', ''])
  expect(badClient.code).toBe(2)
  expect(badClient.err).toContain('--token: expected')
  expect((await run(['agent', '--help'])).out).toContain('--api-read-token TOKEN')
}, 30_000)
