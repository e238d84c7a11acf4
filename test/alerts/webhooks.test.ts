/** Notification delivery (alerts/webhooks.ts): each receiver's body, retries with backoff, giving up, Alertmanager's alerts. */
import { describe, expect, test } from 'bun:test'
import { WebhookDispatcher } from '../../src/alerts/webhooks.ts'
import type { Notification } from '../../src/alerts/payloads.ts'
import { Registry } from '../../src/metrics/registry.ts'
import { silentLogger } from '../../src/seams/log.ts'
import { SimClock } from '../sim/sim-clock.ts'

const n: Notification = { kind: 'down', incident: 'a~1', target: 'a', status: 'unhealthy', previous: 'healthy', since: 1, startedAt: 1, node: 'n1', error: 'status 503', labels: { team: 'web' } }
const flush = () => new Promise((r) => setImmediate(r))

function setup(answers: Array<number | Error>) {
  const clock = new SimClock()
  const metrics = new Registry()
  const calls: Array<{ url: string; body: string; at: number }> = []
  const d = new WebhookDispatcher({
    clock,
    metrics,
    log: silentLogger,
    post: async (url, _h, body) => {
      calls.push({ url, body, at: clock.monotonic() })
      const a = answers.shift() ?? 200
      if (a instanceof Error) throw a
      return a
    },
    maxAttempts: 4,
    baseBackoffMs: 1000,
  })
  d.setHooks([{ url: 'http://hook/a', headers: {} }])
  const count = (result: string) => metrics.counter('heck_webhook_deliveries_total', '').get({ result })
  const drive = async (steps: number, ms = 500) => {
    for (let i = 0; i < steps; i++) {
      await flush()
      clock.advance(ms)
    }
  }
  return { d, clock, calls, count, drive }
}

describe('notification delivery', () => {
  test('one POST per notification per URL, in each receiver\'s format', async () => {
    const { d, calls, count } = setup([])
    d.setHooks([
      { url: 'http://hook/a', headers: {} },
      { url: 'http://hook/slack', headers: {}, format: 'slack' },
      { url: 'http://hook/discord', headers: {}, format: 'discord' },
    ])
    expect(await d.notify(n)).toBe(true)
    expect(calls.map((c) => c.url)).toEqual(['http://hook/a', 'http://hook/slack', 'http://hook/discord'])
    expect(JSON.parse(calls[0]!.body)).toMatchObject({ type: 'health', kind: 'down', target: 'a', incident: 'a~1', status: 'unhealthy' })
    expect(JSON.parse(calls[1]!.body).text).toMatch(/target a is DOWN.*status 503/)
    expect(JSON.parse(calls[2]!.body).content).toMatch(/target a is DOWN/)
    expect(count('ok')).toBe(3)
  })

  test('retries with exponential backoff, then succeeds', async () => {
    const { d, calls, count, drive } = setup([500, new Error('ECONNREFUSED'), 200])
    const done = d.notify(n)
    await drive(10)
    expect(await done).toBe(true)
    expect(calls.map((c) => c.at)).toEqual([0, 1000, 3000])
    expect(count('retry')).toBe(2)
    expect(count('ok')).toBe(1)
  })

  test('gives up after maxAttempts, and at once on a 4xx', async () => {
    const a = setup([500, 500, 500, 500, 500])
    const done = a.d.notify(n)
    await a.drive(40)
    expect(await done).toBe(false)
    expect(a.calls).toHaveLength(4)
    expect(a.count('failed')).toBe(1)
    const b = setup([404])
    expect(await b.d.notify(n)).toBe(false)
    expect(b.calls).toHaveLength(1)
    expect(b.count('failed')).toBe(1)
  })

  test('Alertmanager: one alert per URL with labels and an endsAt 4 resends ahead while firing; resolved ends now', async () => {
    const { d, calls, clock } = setup([])
    d.setHooks([], { urls: ['http://am1:9093', 'http://am2:9093'], labels: { env: 'prod' }, resendMs: 60_000 })
    expect(d.hasReceivers()).toBe(true)
    expect(d.resendMs()).toBe(60_000)
    await d.notify(n)
    expect(calls.map((c) => c.url)).toEqual(['http://am1:9093/api/v2/alerts', 'http://am2:9093/api/v2/alerts'])
    const [alert] = JSON.parse(calls[0]!.body)
    expect(alert.labels).toEqual({ team: 'web', env: 'prod', alertname: 'HeckTargetDown', target: 'a' })
    expect(alert.annotations).toMatchObject({ error: 'status 503', incident: 'a~1' })
    expect(Date.parse(alert.endsAt) - clock.now()).toBe(240_000)
    await d.notify({ ...n, kind: 'resolved', status: 'healthy', previous: 'unhealthy', since: clock.now() })
    expect(Date.parse(JSON.parse(calls[2]!.body)[0].endsAt)).toBe(clock.now())
  })
})
