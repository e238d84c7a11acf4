/**
 * `POST /v1/push/:id` through the hono app (api/push.ts): the token rules (the target's
 * push token, which needs no read token and allows nothing else; the write rule
 * otherwise), and a clear 4xx for each bad request.
 */
import { expect, test } from 'bun:test'
import { createApp } from '../../src/api/app.ts'
import type { ApiDeps } from '../../src/api/deps.ts'
import { validateTarget } from '../../src/config/targets-file.ts'
import type { Target } from '../../src/config/types.ts'
import { Registry } from '../../src/metrics/registry.ts'
import type { Heartbeat } from '../../src/node/push-ledger.ts'
import { SimClock } from '../sim/sim-clock.ts'

const PUSH_TOKEN = 'job-token-0123456789'
const loopback = { server: { requestIP: () => ({ address: '127.0.0.1', family: 'IPv4', port: 1 }) } }
const remote = { server: { requestIP: () => ({ address: '10.1.2.3', family: 'IPv4', port: 1 }) } }

function fixture(o: { apiToken?: string; apiReadToken?: string } = {}) {
  const defs = new Map<string, Target>([
    ['job', validateTarget({ id: 'job', push: { grace: '5m', token: PUSH_TOKEN } })],
    ['open', validateTarget({ id: 'open', push: { grace: '5m' } })],
    ['web', validateTarget({ id: 'web', url: 'http://127.0.0.1:1/' })],
  ])
  const got: Array<{ id: string; beat: Heartbeat; forwarded: boolean }> = []
  const clock = new SimClock()
  const deps = {
    node: 'n1',
    version: 't',
    ...o,
    metrics: new Registry(),
    clock,
    health: () => [],
    target: (id: string) => {
      const d = defs.get(id)
      return d && { id, status: 'unknown', since: 0, owner: 'n1', last: null, definition: d, owners: ['n1'], recent: [], transitions: [] }
    },
    push: async (id: string, beat: Heartbeat, x: { forwarded: boolean }) => {
      got.push({ id, beat, forwarded: x.forwarded })
      return 'n1'
    },
    pushTokenMatches: async (t: Target, given: string) => t.check.kind === 'push' && t.check.token === given,
  } as unknown as ApiDeps
  const app = createApp(deps)
  const push = (path: string, init: RequestInit = {}, env: object = loopback) => app.request(path, { method: 'POST', ...init }, env)
  return { push, got, clock }
}

test('a push is taken and says who holds it; status and msg come through; msg is cut at 256', async () => {
  const f = fixture()
  const r = await f.push('/v1/push/open?status=fail&msg=disk%20full')
  expect(r.status).toBe(200)
  expect(await r.json()).toMatchObject({ node: 'n1', target: 'open', held_by: 'n1' })
  expect(f.got[0]).toMatchObject({ id: 'open', beat: { ok: false, msg: 'disk full' }, forwarded: false })
  await f.push('/v1/push/open', { body: 'x'.repeat(1000) })
  expect(f.got[1]!.beat.msg!.length).toBe(256)
  expect(f.got[1]!.beat.ok).toBe(true)
})

test('the push token allows a push from anywhere, with no read token, and nothing else; the write rule applies otherwise', async () => {
  const f = fixture({ apiToken: 'write-token', apiReadToken: 'read-token' })
  const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } })
  expect((await f.push('/v1/push/job', auth(PUSH_TOKEN), remote)).status).toBe(200)
  // Not for another target, nor for other writes.
  expect((await f.push('/v1/push/open', auth(PUSH_TOKEN), remote)).status).toBe(401)
  expect((await f.push('/v1/targets', { ...auth(PUSH_TOKEN), body: '{}' }, remote)).status).toBe(401)
  // The write token works for any push; the read token does not.
  expect((await f.push('/v1/push/open', auth('write-token'), remote)).status).toBe(200)
  expect((await f.push('/v1/push/open', auth('read-token'), remote)).status).toBe(401)
  // A forwarded push keeps its arrival time only under the write rule.
  await f.push(`/v1/push/open?forwarded=1&at=${f.clock.now() - 5000}`, auth('write-token'), remote)
  expect(f.got.at(-1)).toMatchObject({ forwarded: true, beat: { at: f.clock.now() - 5000 } })
  await f.push(`/v1/push/job?forwarded=1&at=${f.clock.now() - 5000}`, auth(PUSH_TOKEN), remote)
  expect(f.got.at(-1)).toMatchObject({ forwarded: false, beat: { at: f.clock.now() } })
  // Without --api-token: loopback only, unless the push token is sent.
  const g = fixture()
  expect((await g.push('/v1/push/open', {}, remote)).status).toBe(403)
  expect((await g.push('/v1/push/job', auth(PUSH_TOKEN), remote)).status).toBe(200)
})

test('each bad push gets a clear 4xx', async () => {
  const f = fixture()
  const cases: Array<[string, RequestInit, number, RegExp]> = [
    ['/v1/push/nope', {}, 404, /no such target/],
    ['/v1/push/web', {}, 409, /not a push target/],
    ['/v1/push/open?status=maybe', {}, 400, /bad status/],
    ['/v1/push/open', { body: 'x'.repeat(5000) }, 413, /push body too large/],
  ]
  for (const [path, init, status, error] of cases) {
    const r = await f.push(path, init)
    expect(r.status).toBe(status)
    const body = (await r.json()) as { error: string; detail?: unknown }
    expect(body.error).toMatch(error)
  }
  expect(f.got).toEqual([])
})
