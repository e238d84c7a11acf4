/**
 * The node on a simulated clock with a scripted prober: rise/fall through the
 * node, events, the registry semantics (file vs API) and the views.
 */
import { describe, expect, test } from 'bun:test'
import type { Target } from '../../src/config/types.ts'
import { parseTargetsText } from '../../src/config/targets-file.ts'
import { Registry } from '../../src/metrics/registry.ts'
import { HeckNode } from '../../src/node/node.ts'
import type { NodeEvent } from '../../src/node/types.ts'
import type { Prober, ProbeOutcome } from '../../src/poller/prober.ts'
import { silentLogger } from '../../src/seams/log.ts'
import { SeededRng } from '../../src/seams/rng.ts'
import { SimClock } from '../sim/sim-clock.ts'

/** Answers at once with whatever `up` says for the target. */
class ScriptedProber implements Prober {
  up = new Map<string, boolean>()
  calls = new Map<string, number>()
  async probe(t: Target): Promise<ProbeOutcome> {
    this.calls.set(t.id, (this.calls.get(t.id) ?? 0) + 1)
    const ok = this.up.get(t.id) ?? true
    return ok ? { ok, latencyMs: 3, statusCode: 200 } : { ok, latencyMs: 1, error: 'HTTP 503' }
  }
}

const file = (yaml: string) => parseTargetsText(yaml, 'test.yaml').targets

async function setup(yaml: string) {
  const clock = new SimClock()
  const prober = new ScriptedProber()
  const node = new HeckNode({ name: 'n1', clock, rng: new SeededRng(7), prober, metrics: new Registry(), log: silentLogger })
  const events: NodeEvent[] = []
  node.bus.subscribe((e) => events.push(e))
  node.applyFile(file(yaml))
  // Advance in small steps, letting each probe's promise settle between timers.
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100)
      for (let i = 0; i < 5; i++) await Promise.resolve()
    }
  }
  return { clock, prober, node, events, run }
}

describe('node', () => {
  test('unhealthy after exactly `fall` failures, healthy after exactly `rise` successes', async () => {
    const { prober, node, events, run } = await setup('targets: [{id: a, url: "http://x/", interval: 1s, rise: 2, fall: 3}]')
    await run(3000)
    expect(node.health()[0]?.status).toBe('healthy')
    prober.up.set('a', false)
    const before = prober.calls.get('a') ?? 0
    let sawAt = -1
    for (let i = 0; i < 10 && sawAt < 0; i++) {
      await run(1000)
      if (node.health()[0]?.status === 'unhealthy') sawAt = (prober.calls.get('a') ?? 0) - before
    }
    expect(sawAt).toBe(3)
    prober.up.set('a', true)
    const before2 = prober.calls.get('a') ?? 0
    let upAt = -1
    for (let i = 0; i < 10 && upAt < 0; i++) {
      await run(1000)
      if (node.health()[0]?.status === 'healthy') upAt = (prober.calls.get('a') ?? 0) - before2
    }
    expect(upAt).toBe(2)
    const changes = events.filter((e) => e.type === 'health').map((e) => (e.type === 'health' ? `${e.previous}>${e.status}` : ''))
    expect(changes).toEqual(['unknown>healthy', 'healthy>unhealthy', 'unhealthy>healthy'])
    const d = node.target('a')
    expect(d?.recent.length).toBeGreaterThan(5)
    expect(d?.owners).toEqual(['n1'])
    expect(node.newestObservationAt()).not.toBeNull()
    await node.stop()
  })

  test('file targets come and go; an API delete sticks until the file entry changes', async () => {
    const { node, prober, run } = await setup('targets: [{id: a, tcp: "h:1"}, {id: b, tcp: "h:2"}]')
    await run(6000)
    expect(node.health().map((h) => h.id).sort()).toEqual(['a', 'b'])
    expect(await node.state.removeTarget('a')).toBe(true)
    node.applyFile(file('targets: [{id: a, tcp: "h:1"}, {id: b, tcp: "h:2"}]'))
    expect(node.state.target('a')).toBeUndefined()
    node.applyFile(file('targets: [{id: a, tcp: "h:9"}, {id: b, tcp: "h:2"}]'))
    expect(node.state.target('a')?.check).toEqual({ kind: 'tcp', host: 'h', port: 9 })
    node.applyFile(file('targets: [{id: a, tcp: "h:9"}]'))
    expect(node.state.target('b')).toBeUndefined()
    const calls = prober.calls.get('b') ?? 0
    await run(12_000)
    expect(prober.calls.get('b')).toBe(calls) // no more checks of a removed target
    await node.stop()
  })

  test('10,000 file targets reconcile once and are all checked within one interval', async () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `  - {id: t${i}, tcp: "h:${(i % 60000) + 1}"}`).join('\n')
    const { node, prober, run } = await setup(`defaults: {interval: 1s}\ntargets:\n${lines}`)
    await run(1100)
    expect(prober.calls.size).toBe(10_000)
    await node.stop()
  })
})
