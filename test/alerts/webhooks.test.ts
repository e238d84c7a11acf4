import { describe, expect, test } from 'bun:test'
import { WebhookDispatcher, type AlertEvent } from '../../src/alerts/webhooks.ts'
import { Registry } from '../../src/metrics/registry.ts'
import { silentLogger } from '../../src/seams/log.ts'
import { SimClock } from '../sim/sim-clock.ts'

const ev: AlertEvent = { type: 'health', target: 'a', status: 'unhealthy', previous: 'healthy', since: 1, node: 'n1' }
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
  return { d, clock, calls, count }
}

describe('webhooks', () => {
  test('one POST per change per URL', async () => {
    const { d, calls, count } = setup([])
    d.send(ev)
    await flush()
    expect(calls).toHaveLength(1)
    expect(JSON.parse(calls[0]?.body ?? '')).toEqual(ev)
    expect(count('ok')).toBe(1)
  })

  test('retries with exponential backoff, then succeeds', async () => {
    const { d, clock, calls, count } = setup([500, new Error('ECONNREFUSED'), 200])
    d.send(ev)
    for (let i = 0; i < 10; i++) {
      await flush()
      clock.advance(500)
    }
    expect(calls.map((c) => c.at)).toEqual([0, 1000, 3000])
    expect(count('retry')).toBe(2)
    expect(count('ok')).toBe(1)
  })

  test('gives up after maxAttempts, and at once on a 4xx', async () => {
    const a = setup([500, 500, 500, 500, 500])
    a.d.send(ev)
    for (let i = 0; i < 40; i++) {
      await flush()
      a.clock.advance(500)
    }
    expect(a.calls).toHaveLength(4)
    expect(a.count('failed')).toBe(1)
    const b = setup([404])
    b.d.send(ev)
    await flush()
    b.clock.advance(60_000)
    await flush()
    expect(b.calls).toHaveLength(1)
    expect(b.count('failed')).toBe(1)
  })
})
