/**
 * The TUI against an agent at its event-stream limit: a 503 from GET /v1/events
 * is waited out for at least its Retry-After (with jitter and backoff), logged
 * once per refusal streak, and the stream is followed once a place is free.
 * Simulated clock and fetch: nothing sleeps.
 */
import { expect, test } from 'bun:test'
import { TuiClient } from '../../src/tui/client.ts'
import { SeededRng } from '../../src/seams/rng.ts'
import { SimClock } from '../sim/sim-clock.ts'

/** Lets the client's awaited fetches and timers settle. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r))
}

test('a 503 with Retry-After is waited out (no hammering), logged once, then the stream is followed', async () => {
  const clock = new SimClock()
  const attempts: number[] = []
  const refusals = 3
  const fetch = (async (input: string | URL | Request) => {
    const path = new URL(String(input)).pathname
    if (path === '/v1/events') {
      attempts.push(clock.monotonic())
      if (attempts.length <= refusals) {
        return Response.json(
          { error: 'too many event streams (max 256): retry after 7 s, or raise --max-event-streams', detail: { max: 256 } },
          { status: 503, headers: { 'retry-after': '7' } },
        )
      }
      const body = new ReadableStream<Uint8Array>({
        start(ctrl) {
          ctrl.enqueue(new TextEncoder().encode('event: hello\ndata: {"node":"n7"}\n\n'))
        },
      })
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
    }
    if (path === '/v1/health') return Response.json({ node: 'n1', data_age_ms: null, targets: [] })
    return Response.json({ error: 'no such endpoint' }, { status: 404 })
  }) as typeof globalThis.fetch
  const c = new TuiClient({ baseUrl: 'http://x', clock, onChange: () => {}, fetch, rng: new SeededRng(42), pollIntervalMs: 60_000, detailIntervalMs: 60_000 })
  c.start()
  await settle()
  expect(attempts).toEqual([0])
  // Retry-After 7 s: nothing before it (the old client came back after 0.5 s, then 1 s, 2 s ...).
  for (let t = 0; t < 6_900; t += 100) {
    clock.advance(100)
    await settle()
  }
  expect(attempts).toHaveLength(1)
  for (let t = 0; t < 40_000 && attempts.length <= refusals; t += 100) {
    clock.advance(100)
    await settle()
  }
  expect(attempts).toHaveLength(refusals + 1)
  const gaps = attempts.slice(1).map((a, i) => a - (attempts[i] as number))
  for (const g of gaps) {
    expect(g).toBeGreaterThanOrEqual(7_000)
    expect(g).toBeLessThanOrEqual(7_000 * 1.5 + 100)
  }
  // One line tells the user why there are no live events; not one per refusal.
  const lines = c.state.events.filter((e) => e.text.includes('event stream refused'))
  expect(lines).toHaveLength(1)
  expect(lines[0]?.text).toContain('too many event streams')
  expect(lines[0]?.text).toContain('retrying in')
  await settle()
  expect(c.state.node).toBe('n7') // the hello of the stream that got through
  c.stop()
})

test('Retry-After: seconds or an HTTP-date, capped; anything else is ignored', async () => {
  const { retryAfterMs } = await import('../../src/tui/client.ts')
  const now = Date.parse('2026-12-03T10:15:00Z')
  expect(retryAfterMs('5', now)).toBe(5000)
  expect(retryAfterMs(' 0 ', now)).toBe(0)
  expect(retryAfterMs('Thu, 03 Dec 2026 10:15:30 GMT', now)).toBe(30_000)
  expect(retryAfterMs('Thu, 03 Dec 2026 10:14:00 GMT', now)).toBe(0)
  expect(retryAfterMs('99999', now)).toBe(300_000)
  expect(retryAfterMs('soon', now)).toBeNull()
  expect(retryAfterMs(null, now)).toBeNull()
})
