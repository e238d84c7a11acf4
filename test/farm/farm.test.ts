/**
 * heck farm over real loopback sockets: endpoints answer, modes change what they
 * answer, checks are counted per node from the User-Agent, and the admin API
 * serves a matching targets file. Each test starts its own farm on a free port
 * and stops it.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { parseTargetsText } from '../../src/config/targets-file.ts'
import { startFarm, type Farm, type FarmOptions, type FarmStats } from '../../src/farm/farm.ts'

const farms: Farm[] = []
afterEach(async () => {
  await Promise.all(farms.splice(0).map((f) => f.stop()))
})
const farm = (o: FarmOptions = {}) => {
  const f = startFarm({ port: 0, count: 10, ...o })
  farms.push(f)
  return f
}
const ua = (node: string) => ({ 'user-agent': `heck/0.1.0 (node ${node})` })
const check = (f: Farm, id: string | number, node = 'n1', signal?: AbortSignal) =>
  fetch(`${f.url}/t/${id}`, { headers: ua(node), ...(signal ? { signal } : {}) })
const admin = (f: Farm, path: string, body?: unknown) =>
  fetch(`${f.url}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) })
const setMode = async (f: Farm, id: string | number, spec: unknown) => {
  const r = await admin(f, `/admin/targets/${id}`, spec)
  expect(r.status).toBe(200)
  return r.json()
}
/** Status code, or the error code when the connection failed. */
const outcome = async (p: Promise<Response>) => {
  try {
    const r = await p
    await r.text()
    return r.status
  } catch (e) {
    const code = (e as { code?: unknown }).code
    return typeof code === 'string' ? code : (e as Error).name
  }
}

describe('heck farm', () => {
  test('numbered and id-like endpoints answer 200 ok; other paths 404', async () => {
    const f = farm()
    expect(f.url).toBe(`http://127.0.0.1:${f.port}`)
    const r = await check(f, 0)
    expect(r.status).toBe(200)
    expect(await r.text()).toBe('ok\n')
    expect(await outcome(check(f, 9))).toBe(200)
    expect(await outcome(check(f, 'api-1.internal_x'))).toBe(200)
    expect(await outcome(fetch(`${f.url}/t/a%20b`))).toBe(404)
    expect(await outcome(fetch(`${f.url}/nope`))).toBe(404)
    expect(await outcome(fetch(`${f.url}/admin/healthz`))).toBe(200)
  })

  test('fail: a status, a reset, a closed connection, a hang', async () => {
    const f = farm()
    await setMode(f, 1, { mode: 'fail' })
    await setMode(f, 2, { mode: 'fail', status: 500 })
    await setMode(f, 3, { mode: 'fail', fault: 'reset' })
    await setMode(f, 4, { mode: 'fail', fault: 'close', status: 500 })
    await setMode(f, 5, { mode: 'fail', fault: 'hang' })
    expect(await outcome(check(f, 1))).toBe(503)
    expect(await outcome(check(f, 2))).toBe(500)
    expect(await outcome(check(f, 3))).toBe('ECONNRESET')
    const closed = await check(f, 4)
    expect([closed.status, closed.headers.get('connection')]).toEqual([500, 'close'])
    await closed.text()
    const t0 = performance.now()
    expect(await outcome(check(f, 5, 'n1', AbortSignal.timeout(150)))).toBe('TimeoutError')
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140)
    expect(await outcome(check(f, 0))).toBe(200)
    // The farm lets go of a hanging request once its client gives up.
    const deadline = performance.now() + 2000
    while (f.stats({ summary: true }).waiting > 0 && performance.now() < deadline) await Bun.sleep(10)
    expect(f.stats({ summary: true }).waiting).toBe(0)
  })

  test('slow answers after delay_ms; a mode can be read back', async () => {
    const f = farm()
    expect(await setMode(f, 7, { mode: 'slow', delay_ms: 200 })).toEqual({ ids: ['7'], mode: { mode: 'slow', delay_ms: 200 } })
    const t0 = performance.now()
    expect(await outcome(check(f, 7))).toBe(200)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190)
    const d = (await (await admin(f, '/admin/targets/7')).json()) as { mode: unknown; count: number }
    expect(d).toMatchObject({ mode: { mode: 'slow', delay_ms: 200 }, count: 1 })
  })

  test('flap fails in its first period; reset makes everything healthy and zeroes counters', async () => {
    const f = farm()
    await setMode(f, 1, { mode: 'flap', period_ms: 60_000 })
    expect(await outcome(check(f, 1))).toBe(503)
    await admin(f, '/admin/targets', { from: 2, to: 4, mode: 'fail' })
    expect(await Promise.all([2, 3, 4, 5].map((i) => outcome(check(f, i))))).toEqual([503, 503, 503, 200])
    const r = await admin(f, '/admin/reset?what=modes', {})
    expect(await r.json()).toEqual({ reset: 'modes' })
    expect(await Promise.all([1, 2, 3].map((i) => outcome(check(f, i))))).toEqual([200, 200, 200])
    expect(f.stats({ summary: true }).total).toBe(8)
    await admin(f, '/admin/reset', {})
    expect(f.stats().total).toBe(0)
    expect(f.stats().byTarget?.['1']).toBe(0)
  })

  test('bad admin requests get a JSON error', async () => {
    const f = farm()
    const bad = async (path: string, body: unknown, status: number) => {
      const r = await fetch(`${f.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) })
      expect(r.status).toBe(status)
      expect(typeof ((await r.json()) as { error: unknown }).error).toBe('string')
    }
    await bad('/admin/targets/1', '{not json', 400)
    await bad('/admin/targets/1', { mode: 'down' }, 400)
    await bad('/admin/targets', { mode: 'fail' }, 400)
    await bad('/admin/reset?what=all-of-it', {}, 400)
    await bad('/admin/nothing', {}, 404)
  })

  test('counts checks per target and per node from the User-Agent, with last-seen times', async () => {
    const f = farm()
    for (let i = 0; i < 3; i++) await outcome(check(f, 0, 'alpha'))
    await outcome(check(f, 0, 'beta'))
    await outcome(check(f, 1, 'beta'))
    await outcome(fetch(`${f.url}/t/1`, { headers: { 'user-agent': 'curl/8.0' } }))
    const s = (await (await admin(f, '/admin/stats')).json()) as FarmStats
    expect(s.total).toBe(6)
    expect(s.byNode).toEqual({ alpha: 3, beta: 2, 'other:curl': 1 })
    expect(s.byTarget).toMatchObject({ '0': 4, '1': 2, '2': 0 })
    const t0 = s.targets?.['0']
    expect(t0?.lastNode).toBe('beta')
    expect(t0?.nodes.alpha?.count).toBe(3)
    expect(t0?.nodes.alpha?.first).toBeLessThanOrEqual(t0?.nodes.alpha?.last ?? 0)
    expect(t0?.last).toBe(t0?.nodes.beta?.last ?? -1)
    const one = (await (await admin(f, '/admin/stats?target=0')).json()) as FarmStats
    expect(one.targets?.['0']?.recent?.map((r) => r.node)).toEqual(['alpha', 'alpha', 'alpha', 'beta'])
    const summary = (await (await admin(f, '/admin/stats?summary=1')).json()) as FarmStats
    expect(summary.targets).toBeUndefined()
    expect(summary.total).toBe(6)
  })

  test('admin requests are not counted; the targets file matches the farm', async () => {
    const f = farm({ count: 4 })
    const r = await admin(f, '/admin/targets.yaml?interval=1s&count=3&connection=new')
    expect(r.status).toBe(200)
    const file = parseTargetsText(await r.text(), 'farm.yaml')
    expect(file.targets.map((t) => [t.id, t.check.kind === 'http' && t.check.url, t.intervalMs, t.connection])).toEqual([
      ['t0', `${f.url}/t/0`, 1000, 'new'],
      ['t1', `${f.url}/t/1`, 1000, 'new'],
      ['t2', `${f.url}/t/2`, 1000, 'new'],
    ])
    expect(parseTargetsText(await (await admin(f, '/admin/targets.yaml')).text(), 'f.yaml').targets.length).toBe(4)
    expect((await admin(f, '/admin/targets.yaml?interval=5')).status).toBe(400)
    expect(f.stats().total).toBe(0)
  })

  test('--fail/--slow style start modes and random outages (--flap)', async () => {
    const f = farm({ count: 3, seed: 1, flapRate: 200, flapDownMs: [30_000, 30_000], modes: [{ ids: ['0'], spec: { mode: 'slow', delay_ms: 1 } }] })
    expect(f.mode('0')).toEqual({ mode: 'slow', delay_ms: 1 })
    // At 200 outages/s, endpoints 1 and 2 are down within a few hundred ms; 0 keeps its deliberate mode.
    const deadline = performance.now() + 3000
    while (performance.now() < deadline && !(f.mode('1')?.mode === 'fail' && f.mode('2')?.mode === 'fail')) await Bun.sleep(20)
    expect([f.mode('1')?.mode, f.mode('2')?.mode]).toEqual(['fail', 'fail'])
    expect(f.mode('0')).toEqual({ mode: 'slow', delay_ms: 1 })
    expect([500, 503]).toContain(Number(await outcome(check(f, 1))))
  })

  test('stop ends waiting requests and frees the port', async () => {
    const f = startFarm({ port: 0 })
    f.setMode('0', { mode: 'fail', fault: 'hang' })
    const pending = outcome(check(f, 0))
    await Bun.sleep(50)
    await f.stop()
    expect(await pending).not.toBe(200)
    expect(await outcome(fetch(`${f.url}/t/1`))).not.toBe(200)
  })
})
