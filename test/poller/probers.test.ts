/**
 * The real probers against a Bun.serve on 127.0.0.1:0. Few, bounded, and
 * everything they start is stopped in afterAll.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Target } from '../../src/config/types.ts'
import { createProber } from '../../src/runtime/http-prober.ts'

const ports = new Set<number>()
const userAgents: string[] = []
let server: ReturnType<typeof Bun.serve>
let base = ''

beforeAll(() => {
  server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req, srv) {
      const ip = srv.requestIP(req)
      if (ip) ports.add(ip.port)
      userAgents.push(req.headers.get('user-agent') ?? '')
      const path = new URL(req.url).pathname
      if (path === '/ok') return new Response('{"status":"ok"}')
      if (path === '/fail') return new Response('down', { status: 503 })
      if (path === '/no-content') return new Response(null, { status: 204 })
      if (path === '/slow') {
        await Bun.sleep(400)
        return new Response('late')
      }
      if (path === '/big') return new Response('x'.repeat(200_000) + 'needle')
      if (path === '/method') return new Response(req.method)
      if (path === '/redirect') return Response.redirect('/ok', 302)
      if (path === '/chunked') {
        return new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode('o'))
              c.enqueue(new TextEncoder().encode('k'))
              c.close()
            },
          }),
        )
      }
      return new Response('nope', { status: 404 })
    },
  })
  base = `http://127.0.0.1:${server.port}`
})

afterAll(() => server.stop(true))

const prober = createProber({ version: '9.9.9', nodeName: 'n1' })

function http(path: string, over: Partial<Target> = {}, headers: Record<string, string> = {}): Target {
  return {
    id: path.slice(1) || 'root',
    check: { kind: 'http', url: base + path, method: 'GET', headers },
    intervalMs: 1000,
    timeoutMs: 500,
    rise: 2,
    fall: 3,
    expect: { status: [] },
    connection: 'reuse',
    ...over,
  }
}

const probe = (t: Target, timeoutMs = t.timeoutMs) => prober.probe(t, AbortSignal.timeout(timeoutMs))

describe('http prober', () => {
  test('2xx is ok, with the status and a latency', async () => {
    const o = await probe(http('/ok'))
    expect(o).toMatchObject({ ok: true, statusCode: 200 })
    expect(o.latencyMs).toBeGreaterThan(0)
    expect((await probe(http('/no-content'))).ok).toBe(true)
  })

  test('a status outside the expected set fails, naming it', async () => {
    expect(await probe(http('/fail'))).toMatchObject({ ok: false, statusCode: 503, error: 'status 503, expected 2xx' })
    expect((await probe(http('/fail', { expect: { status: [503] } }))).ok).toBe(true)
    expect((await probe(http('/ok', { expect: { status: [204] } }))).ok).toBe(false)
  })

  test('body_contains reads the body', async () => {
    expect((await probe(http('/ok', { expect: { status: [], bodyContains: '"ok"' } }))).ok).toBe(true)
    expect(await probe(http('/ok', { expect: { status: [], bodyContains: 'healthy' } }))).toMatchObject({ ok: false, error: 'body does not contain "healthy"' })
    expect((await probe(http('/big', { expect: { status: [], bodyContains: 'needle' } }))).ok).toBe(true)
  })

  test('max_latency fails a slow answer', async () => {
    const o = await probe(http('/slow', { timeoutMs: 3000, expect: { status: [], maxLatencyMs: 100 } }))
    expect(o.ok).toBe(false)
    expect(o.error).toMatch(/^latency \d+ms above max 100ms$/)
  })

  test('the timeout aborts the request', async () => {
    const t0 = performance.now()
    const o = await probe(http('/slow', { timeoutMs: 150 }))
    expect(o).toMatchObject({ ok: false, error: 'timeout after 150ms' })
    expect(performance.now() - t0).toBeLessThan(380)
  })

  test('connection refused is a failed check, not an exception', async () => {
    const o = await prober.probe({ ...http('/ok'), check: { kind: 'http', url: 'http://127.0.0.1:1/', method: 'GET', headers: {} } }, AbortSignal.timeout(1000))
    expect(o).toMatchObject({ ok: false, error: 'connection refused' })
  })

  test('the User-Agent names the version and node; a target header overrides it', async () => {
    userAgents.length = 0
    await probe(http('/ok'))
    await probe(http('/ok', {}, { 'User-Agent': 'custom/1' }))
    expect(userAgents).toEqual(['heck/9.9.9 (node n1)', 'custom/1'])
  })

  test('a redirect is reported as itself, not followed', async () => {
    expect(await probe(http('/redirect'))).toMatchObject({ ok: false, statusCode: 302, error: 'status 302, expected 2xx' })
    expect((await probe(http('/redirect', { expect: { status: [302] } }))).ok).toBe(true)
  })

  test('method is sent', async () => {
    const o = await probe(http('/method', { check: { kind: 'http', url: `${base}/method`, method: 'HEAD', headers: {} } }))
    expect(o).toMatchObject({ ok: true, statusCode: 200 })
  })

  test("connection 'new' opens a connection per check; 'reuse' keeps one", async () => {
    const n = 20
    ports.clear()
    for (let i = 0; i < n; i++) expect((await probe(http('/ok', { connection: 'new' }))).ok).toBe(true)
    expect(ports.size).toBe(n)
    ports.clear()
    for (let i = 0; i < n; i++) expect((await probe(http('/ok', { connection: 'reuse' }))).ok).toBe(true)
    expect(ports.size).toBeLessThanOrEqual(2)
  })

  test('a small chunked body is drained, so the connection is still reused', async () => {
    ports.clear()
    for (let i = 0; i < 10; i++) expect((await probe(http('/chunked'))).ok).toBe(true)
    expect(ports.size).toBeLessThanOrEqual(2)
    expect((await probe(http('/chunked', { expect: { status: [], bodyContains: 'ok' } }))).ok).toBe(true)
  })
})

describe('tcp prober', () => {
  const tcp = (port: number, over: Partial<Target> = {}): Target => ({ ...http('/'), id: 'tcp', check: { kind: 'tcp', host: '127.0.0.1', port }, ...over })

  test('a listening port is ok', async () => {
    const o = await probe(tcp(server.port as number))
    expect(o.ok).toBe(true)
    expect(o.statusCode).toBeUndefined()
  })

  test('a closed port is refused', async () => {
    expect(await probe(tcp(1))).toMatchObject({ ok: false, error: 'connection refused' })
  })

  test('an already-aborted signal fails at once', async () => {
    const ac = new AbortController()
    ac.abort()
    expect(await prober.probe(tcp(server.port as number), ac.signal)).toMatchObject({ ok: false, error: 'timeout after 500ms' })
  })
})
