/**
 * `GET /v1/health?limit=N&after=ID` (api/paging.ts): keyset pages in id order, through
 * the hono app, with filters, a list that changes between pages, and bad parameters.
 */
import { expect, test } from 'bun:test'
import { createApp } from '../../src/api/app.ts'
import type { ApiDeps } from '../../src/api/deps.ts'
import { Registry } from '../../src/metrics/registry.ts'
import type { TargetHealth } from '../../src/node/types.ts'
import { SimClock } from '../sim/sim-clock.ts'

function app(ids: string[]) {
  const health = new Map<string, TargetHealth>()
  const add = (id: string, i = 0) => health.set(id, { id, status: i % 3 === 0 ? 'unhealthy' : 'healthy', since: 0, owner: 'n1', last: null })
  ids.forEach(add)
  const deps = { node: 'n1', version: 't', metrics: new Registry(), clock: new SimClock(), health: () => [...health.values()], newestObservationAt: () => 0 } as unknown as ApiDeps
  const a = createApp(deps)
  const get = async (q: string) => {
    const r = await a.request(`/v1/health${q}`)
    return { status: r.status, body: (await r.json()) as { targets: TargetHealth[]; next?: string; total?: number; error?: string } }
  }
  return { get, health, add }
}

test('pages walk every target once, in id order, with next and total', async () => {
  // Inserted out of order; ids that sort differently as numbers and as strings.
  const ids = Array.from({ length: 25 }, (_, i) => `t${(i * 7) % 25}`)
  const { get } = app(ids)
  const seen: string[] = []
  let after: string | undefined
  for (let pages = 0; pages < 10; pages++) {
    const { status, body } = await get(`?limit=10${after ? `&after=${after}` : ''}`)
    expect(status).toBe(200)
    expect(body.total).toBe(25)
    expect(body.targets.length).toBeLessThanOrEqual(10)
    seen.push(...body.targets.map((t) => t.id))
    if (!body.next) break
    expect(body.next).toBe(body.targets.at(-1)!.id)
    after = body.next
  }
  expect(seen).toEqual([...ids].sort())
  // Without paging parameters: the whole list, no total or next (unchanged answer).
  const all = await get('')
  expect(all.body.targets.length).toBe(25)
  expect(all.body.next).toBeUndefined()
  expect(all.body.total).toBeUndefined()
})

test('filters apply before paging; a target added or removed between pages shifts nothing else', async () => {
  const { get, health, add } = app(Array.from({ length: 30 }, (_, i) => `id-${String(i).padStart(2, '0')}`))
  const first = await get('?status=unhealthy&limit=4')
  expect(first.body.total).toBe(10)
  expect(first.body.targets.every((t) => t.status === 'unhealthy')).toBe(true)
  const p1 = await get('?limit=10')
  health.delete('id-03') // already seen: the next page is unaffected
  add('id-00a') // sorts before the cursor: not in the next page either
  const p2 = await get(`?limit=10&after=${p1.body.next}`)
  expect(p2.body.targets.map((t) => t.id)).toEqual(Array.from({ length: 10 }, (_, i) => `id-${10 + i}`))
})

test('bad paging parameters get a 400 that says what to send', async () => {
  const { get } = app(['a'])
  for (const q of ['?limit=0', '?limit=-1', '?limit=abc', '?limit=1.5', '?limit=100001']) {
    const r = await get(q)
    expect(r.status).toBe(400)
    expect(r.body.error).toMatch(/bad limit: give a whole number from 1 to 100000/)
  }
  const e = await get('?after=')
  expect(e.status).toBe(400)
  expect(e.body.error).toMatch(/bad after/)
  // after alone: everything above it, up to the largest page.
  expect((await get('?after=a')).body.targets).toEqual([])
})

test('heck status reads every page from a real server, filter kept, meta from the first page', async () => {
  const { allHealth } = await import('../../src/cli/client-cmds.ts')
  const ids = Array.from({ length: 23 }, (_, i) => `s${String(i).padStart(2, '0')}`)
  const health = new Map<string, TargetHealth>(ids.map((id, i) => [id, { id, status: i % 2 ? 'healthy' : 'unhealthy', since: 0, owner: 'n1', last: null }]))
  const requests: string[] = []
  const deps = { node: 'n1', version: 't', metrics: new Registry(), clock: new SimClock(), health: () => [...health.values()], newestObservationAt: () => 0 } as unknown as ApiDeps
  const a = createApp(deps)
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (r, srv) => (requests.push(new URL(r.url).search), a.fetch(r, { server: srv })) })
  try {
    const all = await allHealth(`http://127.0.0.1:${server.port}`, '', undefined, 5)
    expect((all.targets as TargetHealth[]).map((t) => t.id)).toEqual(ids)
    expect(all.node).toBe('n1')
    expect(all.next).toBeUndefined()
    expect(requests.length).toBe(5)
    const bad = await allHealth(`http://127.0.0.1:${server.port}`, 'status=unhealthy&', undefined, 5)
    expect((bad.targets as TargetHealth[]).length).toBe(12)
    expect(requests.at(-1)).toContain('status=unhealthy')
  } finally {
    server.stop(true)
  }
})
