/**
 * The node against a real `heck farm` over loopback sockets: a target that starts
 * failing turns unhealthy after exactly `fall` failed checks, and healthy again
 * after exactly `rise` good ones, counted from the results the node recorded.
 */
import { afterAll, expect, test } from 'bun:test'
import { parseTargetsText } from '../../src/config/targets-file.ts'
import { startFarm } from '../../src/farm/farm.ts'
import { Registry } from '../../src/metrics/registry.ts'
import { HeckNode } from '../../src/node/node.ts'
import type { NodeEvent } from '../../src/node/types.ts'
import { realClock } from '../../src/runtime/real-clock.ts'
import { createProber } from '../../src/runtime/http-prober.ts'
import { silentLogger } from '../../src/seams/log.ts'
import { SeededRng } from '../../src/seams/rng.ts'

const farm = startFarm({ count: 3, seed: 1 })
afterAll(() => farm.stop())

function waitFor(node: HeckNode, pred: (e: NodeEvent) => boolean, timeoutMs: number): Promise<NodeEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      off()
      reject(new Error(`no matching event within ${timeoutMs} ms`))
    }, timeoutMs)
    const off = node.bus.subscribe((e) => {
      if (!pred(e)) return
      clearTimeout(t)
      off()
      resolve(e)
    })
  })
}

/** How many of the newest results in a row have this outcome. */
const trailing = (node: HeckNode, id: string, ok: boolean) => {
  const r = node.target(id)?.recent ?? []
  let n = 0
  for (let i = r.length - 1; i >= 0 && r[i]?.ok === ok; i--) n++
  return n
}

test('unhealthy after exactly fall=3, healthy after exactly rise=2 (real farm, real sockets)', async () => {
  const targets = parseTargetsText(
    `defaults: {interval: 200ms, timeout: 150ms, rise: 2, fall: 3}
targets:
  - {id: t0, url: "${farm.url}/t/0"}
  - {id: t1, url: "${farm.url}/t/1"}
`,
    'it.yaml',
  ).targets
  const node = new HeckNode({
    name: 'it-node',
    clock: realClock,
    rng: new SeededRng(3),
    prober: createProber({ version: 'test', nodeName: 'it-node' }),
    metrics: new Registry(),
    log: silentLogger,
  })
  node.applyFile(targets)
  await waitFor(node, (e) => e.type === 'health' && e.id === 't1' && e.status === 'healthy', 5000)

  farm.setMode('1', { mode: 'fail', status: 503 })
  const down = await waitFor(node, (e) => e.type === 'health' && e.id === 't1' && e.status === 'unhealthy', 5000)
  expect(down.type === 'health' && down.previous).toBe('healthy')
  expect(trailing(node, 't1', false)).toBe(3)
  expect(node.target('t1')?.last?.status_code).toBe(503)

  farm.setMode('1', { mode: 'ok' })
  await waitFor(node, (e) => e.type === 'health' && e.id === 't1' && e.status === 'healthy', 5000)
  expect(trailing(node, 't1', true)).toBe(2)

  // The farm saw the checks, and knew which node ran them from the User-Agent.
  const s = farm.stats({ target: '1' })
  expect(s.targets?.['1']?.nodes['it-node']?.count ?? 0).toBeGreaterThanOrEqual(5)
  // The healthy neighbour was never disturbed.
  expect(node.health().find((h) => h.id === 't0')?.status).toBe('healthy')
  await node.stop()
}, 20_000)
