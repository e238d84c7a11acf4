/**
 * The event stream's limit (SPEC.md "HTTP API"): clients over --max-event-streams
 * get 503 with Retry-After before any stream starts, never a 200 stream that
 * carries an error event; the number of open streams is the heck_event_streams
 * gauge, and a closed stream frees its place at once. In-process (app.request).
 */
import { expect, test } from 'bun:test'
import { createApp } from '../../src/api/app.ts'
import type { ApiDeps } from '../../src/api/deps.ts'
import { Registry } from '../../src/metrics/registry.ts'
import { EventBus } from '../../src/node/event-bus.ts'
import { SimClock } from '../sim/sim-clock.ts'

function app(extra: Partial<ApiDeps> = {}) {
  const clock = new SimClock()
  const bus = new EventBus()
  const metrics = new Registry()
  const deps: ApiDeps = {
    node: 'n1',
    version: '0.0.0-test',
    metrics,
    clock,
    health: () => [],
    target: () => undefined,
    putTarget: async () => false,
    deleteTarget: async () => false,
    members: () => [],
    owners: () => [],
    ownershipMap: () => ({}),
    newestObservationAt: () => null,
    subscribe: (fn) => bus.subscribe(fn),
    leave: () => {},
    ...extra,
  }
  return { app: createApp(deps), bus, metrics }
}

/** Reads a stream until its first event line, or the end. */
async function firstEvent(r: Response): Promise<string> {
  const reader = (r.body as ReadableStream<Uint8Array>).getReader()
  const dec = new TextDecoder()
  let text = ''
  while (!text.includes('\n\n')) {
    const { value, done } = await reader.read()
    if (done) break
    text += dec.decode(value)
  }
  reader.releaseLock()
  return /^event: (\S+)/m.exec(text)?.[1] ?? '(none)'
}

const gauge = (metrics: Registry) => Number(/^heck_event_streams (\d+)$/m.exec(metrics.render())?.[1] ?? NaN)

test('over the default limit (256): 503 with Retry-After before the stream, not an error event inside a 200', async () => {
  const f = app()
  const open: Response[] = []
  const refused: Response[] = []
  for (let i = 0; i < 300; i++) {
    const r = await f.app.request('/v1/events')
    ;(r.status === 200 ? open : refused).push(r)
  }
  expect(open).toHaveLength(256)
  expect(refused).toHaveLength(44)
  for (const r of open.slice(0, 5)) expect(await firstEvent(r)).toBe('hello')
  const r = refused[0] as Response
  expect(r.status).toBe(503)
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0)
  expect(r.headers.get('content-type')).toContain('application/json')
  const body = (await r.json()) as { error: string; detail: { max: number } }
  expect(body.error).toContain('too many event streams')
  expect(body.error).toContain('--max-event-streams')
  expect(body.detail.max).toBe(256)
  expect(gauge(f.metrics)).toBe(256)
  for (const o of open) await o.body?.cancel()
})

test('--max-event-streams sets the limit; the gauge counts open streams; a closed one frees its place', async () => {
  const f = app({ maxEventStreams: 2 })
  const a = await f.app.request('/v1/events')
  const b = await f.app.request('/v1/events')
  expect([a.status, b.status]).toEqual([200, 200])
  expect(await firstEvent(a)).toBe('hello')
  expect(await firstEvent(b)).toBe('hello')
  expect(gauge(f.metrics)).toBe(2)
  expect(f.bus.size).toBe(2)
  const c = await f.app.request('/v1/events')
  expect(c.status).toBe(503)
  expect(((await c.json()) as { detail: { max: number } }).detail.max).toBe(2)
  await a.body?.cancel()
  // The stream's cleanup runs once the abort reaches it.
  for (let i = 0; i < 50 && gauge(f.metrics) !== 1; i++) await Bun.sleep(1)
  expect(gauge(f.metrics)).toBe(1)
  expect(f.bus.size).toBe(1)
  const d = await f.app.request('/v1/events')
  expect(d.status).toBe(200)
  expect(await firstEvent(d)).toBe('hello')
  await b.body?.cancel()
  await d.body?.cancel()
})

test('a bus at its own bound also answers 503, not a stream', async () => {
  const bus = new EventBus(1)
  const f = app({ maxEventStreams: 10, subscribe: (fn) => bus.subscribe(fn) })
  const a = await f.app.request('/v1/events')
  expect(a.status).toBe(200)
  const b = await f.app.request('/v1/events')
  expect(b.status).toBe(503)
  expect(b.headers.get('retry-after')).not.toBeNull()
  expect(gauge(f.metrics)).toBe(1)
  await a.body?.cancel()
})
