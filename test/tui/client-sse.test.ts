/**
 * The client against a real (fake) agent over loopback: it follows the SSE
 * stream, and reconnects when the agent goes away and comes back. Bounded:
 * it polls the client's state for at most a few seconds, and stops everything.
 */
import { afterEach, expect, test } from 'bun:test'
import { realClock } from '../../src/runtime/real-clock.ts'
import { TuiClient } from '../../src/tui/client.ts'
import { startFakeApi, type FakeApi } from './fake-api.ts'

let api: FakeApi | undefined
let client: TuiClient | undefined
afterEach(() => {
  client?.stop()
  api?.stop()
})

async function until(what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!pred()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(20)
  }
}

test('follows /v1/events and reconnects after the agent restarts', async () => {
  api = startFakeApi({ ids: ['a', 'b'], members: 2 })
  const port = api.port
  client = new TuiClient({ baseUrl: api.url, clock: realClock, onChange: () => {} })
  client.start()
  const c = client
  await until('first poll', () => c.state.connected && c.state.targets.size === 2)
  expect(c.state.members?.map((m) => m.name)).toEqual(['node-1', 'node-2'])
  // The stream is open once the hello event named the node; give it a moment to subscribe.
  await until('event stream', () => {
    api?.set('a', c.state.targets.get('a')?.status === 'unhealthy' ? 'healthy' : 'unhealthy')
    return c.state.events.some((e) => e.kind === 'health')
  })
  api.stop()
  await until('disconnect noticed', () => !c.state.connected, 8000)
  api = startFakeApi({ ids: ['a', 'b'], members: 2, port })
  const seen = c.state.events.filter((e) => e.kind === 'health').length
  await until('reconnected and streaming', () => {
    api?.set('b', c.state.targets.get('b')?.status === 'unhealthy' ? 'healthy' : 'unhealthy')
    return c.state.connected && c.state.events.filter((e) => e.kind === 'health').length > seen
  }, 10_000)
}, 20_000)

test('switches to a fallback agent when the current one stops answering', async () => {
  api = startFakeApi({ ids: ['a'], node: 'first' })
  const second = startFakeApi({ ids: ['a'], node: 'second' })
  try {
    client = new TuiClient({ baseUrl: api.url, fallbackUrls: [second.url], clock: realClock, onChange: () => {}, pollIntervalMs: 300 })
    client.start()
    const c = client
    await until('first agent', () => c.state.connected && c.state.node === 'first')
    api.stop()
    await until('second agent', () => c.state.connected && c.state.node === 'second', 8000)
    expect(c.state.source).toBe(second.url)
    expect(c.state.events.some((e) => e.text === `switching to ${second.url}`)).toBe(true)
    // The event stream follows: an event from the second agent arrives.
    await until('event from the second agent', () => {
      second.set('a', c.state.targets.get('a')?.status === 'unhealthy' ? 'healthy' : 'unhealthy')
      return c.state.events.some((e) => e.kind === 'health')
    }, 8000)
  } finally {
    second.stop()
  }
}, 20_000)
