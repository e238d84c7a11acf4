import { describe, expect, test } from 'bun:test'
import { createApp } from '../../src/api/app.ts'
import type { ApiDeps } from '../../src/api/deps.ts'
import type { Target } from '../../src/config/types.ts'
import { Registry } from '../../src/metrics/registry.ts'
import { EventBus } from '../../src/node/event-bus.ts'
import type { TargetHealth } from '../../src/node/types.ts'
import { SimClock } from '../sim/sim-clock.ts'

const loopbackEnv = { server: { requestIP: () => ({ address: '127.0.0.1', family: 'IPv4', port: 5555 }) } }
const remoteEnv = { server: { requestIP: () => ({ address: '10.1.2.3', family: 'IPv4', port: 5555 }) } }

function fixture(opts: { apiToken?: string } = {}) {
  const clock = new SimClock()
  const bus = new EventBus()
  const defs = new Map<string, Target>()
  const health = new Map<string, TargetHealth>()
  const metrics = new Registry()
  metrics.counter('heck_checks_total', 'Checks run').inc({ result: 'ok' }, 3)
  let left = 0
  const deps: ApiDeps = {
    node: 'n1',
    version: '0.0.0-test',
    apiToken: opts.apiToken,
    metrics,
    clock,
    health: () => [...health.values()],
    target: (id) => {
      const d = defs.get(id)
      const h = health.get(id)
      if (!d || !h) return undefined
      return { ...h, definition: d, owners: ['n1'], recent: [], transitions: [] }
    },
    putTarget: async (t) => {
      const had = defs.has(t.id)
      defs.set(t.id, t)
      health.set(t.id, { id: t.id, status: 'unknown', since: clock.now(), owner: 'n1', last: null })
      return had
    },
    deleteTarget: async (id) => health.delete(id) && defs.delete(id),
    members: () => [{ name: 'n1', addr: '127.0.0.1:7946', state: 'alive', incarnation: 1, owned: defs.size }],
    owners: () => ['n1'],
    ownershipMap: () => ({ n1: [...defs.keys()] }),
    newestObservationAt: () => clock.now() - 1500,
    subscribe: (fn) => bus.subscribe(fn),
    leave: () => {
      left++
    },
  }
  const app = createApp(deps)
  // @types/node (pulled in by @types/blessed) types Response.json() as unknown; tests read loosely.
  const req = (path: string, init?: RequestInit, env: object = loopbackEnv) =>
    app.request(path, init, env) as Promise<Omit<Response, 'json'> & { json(): Promise<any> }>
  return { app, req, deps, bus, health, defs, left: () => left }
}

const post = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
})

describe('API', () => {
  test('healthz', async () => {
    const r = await fixture().req('/healthz')
    expect(r.status).toBe(200)
    expect(await r.json()).toMatchObject({ ok: true, node: 'n1' })
  })

  test('POST then GET a target, listed in /v1/health with filters, node and data age', async () => {
    const f = fixture()
    const r = await f.req('/v1/targets', post({ id: 'api-1', url: 'http://127.0.0.1:1/h' }))
    expect(r.status).toBe(201)
    expect((await r.json()).replaced).toBe(false)
    const h = await (await f.req('/v1/health')).json()
    expect(h.node).toBe('n1')
    expect(h.data_age_ms).toBe(1500)
    expect(h.targets.map((t: TargetHealth) => t.id)).toEqual(['api-1'])
    expect((await (await f.req('/v1/health?status=healthy')).json()).targets).toEqual([])
    expect((await (await f.req('/v1/health?status=unknown&owner=n1')).json()).targets).toHaveLength(1)
    expect((await (await f.req('/v1/health?owner=n2')).json()).targets).toHaveLength(0)
    expect((await f.req('/v1/health?status=sick')).status).toBe(400)
    const t = await (await f.req('/v1/targets/api-1')).json()
    expect(t.target.definition.url).toBe('http://127.0.0.1:1/h')
    expect(t.target.owners).toEqual(['n1'])
  })

  test('bad input: invalid JSON 400, invalid target 400 with problems, unknown id 404, oversized 413', async () => {
    const f = fixture()
    const bad = await f.req('/v1/targets', post('{nope'))
    expect(bad.status).toBe(400)
    expect((await bad.json()).error).toBe('invalid JSON')
    const invalid = await f.req('/v1/targets', post({ id: 'x', url: 'ftp://x', bogus: 1 }))
    expect(invalid.status).toBe(400)
    const body = await invalid.json()
    expect(body.error).toBe('invalid target')
    expect(body.detail.join('\n')).toContain('unknown field "bogus"')
    expect((await f.req('/v1/targets/nope')).status).toBe(404)
    expect((await f.req('/v1/targets/nope', { method: 'DELETE' })).status).toBe(404)
    const big = await f.req('/v1/targets', post({ id: 'x', url: 'http://x/', pad: 'x'.repeat(100_000) }))
    expect(big.status).toBe(413)
    expect((await big.json()).error).toBe('request body too large')
    expect((await f.req('/v1/nothing')).status).toBe(404)
  })

  test('DELETE removes; 204', async () => {
    const f = fixture()
    await f.req('/v1/targets', post({ id: 'a', tcp: '127.0.0.1:9' }))
    const r = await f.req('/v1/targets/a', { method: 'DELETE' })
    expect(r.status).toBe(204)
    expect(f.defs.size).toBe(0)
  })

  test('writes without a token are loopback-only', async () => {
    const f = fixture()
    const r = await f.req('/v1/targets', post({ id: 'a', tcp: '127.0.0.1:9' }), remoteEnv)
    expect(r.status).toBe(403)
    expect(f.defs.size).toBe(0)
    // Reads stay open to everyone.
    expect((await f.req('/v1/health', undefined, remoteEnv)).status).toBe(200)
  })

  test('with a token, writes need it from anywhere', async () => {
    const f = fixture({ apiToken: 's3cret' })
    expect((await f.req('/v1/targets', post({ id: 'a', tcp: 'h:1' }))).status).toBe(401)
    expect((await f.req('/v1/targets', post({ id: 'a', tcp: 'h:1' }, { authorization: 'Bearer wrong' }))).status).toBe(401)
    const ok = await f.req('/v1/targets', post({ id: 'a', tcp: 'h:1' }, { authorization: 'Bearer s3cret' }), remoteEnv)
    expect(ok.status).toBe(201)
  })

  test('members, ownership, leave', async () => {
    const f = fixture()
    await f.req('/v1/targets', post({ id: 'a', tcp: 'h:1' }))
    expect((await (await f.req('/v1/members')).json()).members[0]).toMatchObject({ name: 'n1', state: 'alive', owned: 1 })
    expect((await (await f.req('/v1/ownership?target=a')).json()).owners).toEqual(['n1'])
    expect((await f.req('/v1/ownership?target=zz')).status).toBe(404)
    expect((await (await f.req('/v1/ownership')).json()).ownership).toEqual({ n1: ['a'] })
    expect((await f.req('/v1/leave', { method: 'POST' })).status).toBe(202)
    expect(f.left()).toBe(1)
  })

  test('metrics in Prometheus text', async () => {
    const r = await fixture().req('/metrics')
    expect(r.headers.get('content-type')).toContain('text/plain')
    const text = await r.text()
    expect(text).toContain('# TYPE heck_checks_total counter')
    expect(text).toContain('heck_checks_total{result="ok"} 3')
  })

  test('events stream as SSE', async () => {
    const f = fixture()
    const r = await f.req('/v1/events')
    expect(r.headers.get('content-type')).toContain('text/event-stream')
    const reader = (r.body as ReadableStream<Uint8Array>).getReader()
    const dec = new TextDecoder()
    let text = ''
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read()
        if (done) break
        text += dec.decode(value)
      }
    }
    await readUntil('event: hello')
    f.bus.emit({ type: 'health', id: 'a', status: 'unhealthy', previous: 'healthy', since: 1, checker: 'n1' })
    await readUntil('"unhealthy"')
    expect(text).toContain('event: health')
    expect(text).toContain('"id":"a"')
    await reader.cancel()
  })
})
