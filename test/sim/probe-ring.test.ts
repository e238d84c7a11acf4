/**
 * The ring probe schedule on the simulator (src/membership/probe-schedule.ts): in a
 * settled cluster every member is probed exactly once per round, where SWIM's
 * independent shuffled orders leave some members unprobed for a round or more; and
 * wall clocks that disagree by more than a period degrade it without breaking
 * detection. Times are simulated ms; SIM_SEED picks the seed.
 */
import { describe, expect, test } from 'bun:test'
import { MsgTag } from '../../src/codec/swim-messages.ts'
import type { SwimConfig } from '../../src/membership/config.ts'
import { SwimSim, simSeed } from './swim-sim.ts'

const SEED = simSeed(777)

/** Direct pings each member received in each whole round of a 20 s settled window. */
async function pingsPerRound(schedule: SwimConfig['probeSchedule'], n: number): Promise<number[]> {
  const c = new SwimSim({ seed: SEED, n, log: false, config: { probeSchedule: schedule } })
  await c.startAll(1000)
  expect(await c.runUntil(() => c.converged(), 30_000)).toBeGreaterThanOrEqual(0)
  await c.run(5000)
  const iv = c.node(0).config.probeIntervalMs
  const counts = new Map<string, number>()
  const byAddr = new Map(c.nodes.map((x) => [x.addr, x.name]))
  const send = c.net.send.bind(c.net)
  c.net.send = (from, to, data) => {
    const r = c.codec.decode(data)
    const round = Math.floor(c.clock.now() / iv)
    if (r.ok) for (const m of r.value.msgs) if (m.t === MsgTag.Ping && m.target === byAddr.get(to)) counts.set(`${m.target}@${round}`, (counts.get(`${m.target}@${round}`) ?? 0) + 1)
    send(from, to, data)
  }
  const first = Math.ceil(c.clock.now() / iv) + 1
  await c.run(20 * iv)
  const out: number[] = []
  for (let r = first; r < first + 18; r++) for (const node of c.nodes) out.push(counts.get(`${node.name}@${r}`) ?? 0)
  return out
}

describe('ring probe schedule (simulator)', () => {
  test('every member is probed exactly once per round; shuffled SWIM orders miss some', async () => {
    const ring = await pingsPerRound('ring', 16)
    const shuffle = await pingsPerRound('shuffle', 16)
    const zeros = (xs: number[]) => xs.filter((x) => x === 0).length
    console.log(`16 nodes, 18 rounds: rounds in which a member went unprobed — ring ${zeros(ring)}, shuffle ${zeros(shuffle)} of ${ring.length}`)
    expect(new Set(ring)).toEqual(new Set([1]))
    expect(zeros(shuffle)).toBeGreaterThan(0)
  }, 60_000)

  test('wall clocks off by up to ±2 s (two periods): a crash is still seen by all, nobody else dies', async () => {
    const c = new SwimSim({ seed: SEED, n: 16, log: false, wallSkewMs: 2000 })
    await c.startAll(1000)
    expect(await c.runUntil(() => c.converged(), 30_000)).toBeGreaterThanOrEqual(0)
    await c.run(10_000)
    c.crash(5)
    const t = await c.runUntil(() => c.allSee('n5', ['dead']), 30_000)
    console.log(`skewed clocks: crash seen dead by all after ${t} ms`)
    expect(t).toBeGreaterThanOrEqual(0)
    expect(t).toBeLessThan(15_000)
    await c.run(30_000)
    expect(c.falsePositives).toEqual([])
  }, 60_000)
})
