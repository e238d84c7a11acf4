/**
 * A 3 + 2 partition and its heal, on the simulator. Two defects were found here by the
 * whole-agent simulator (docs/ARCHITECTURE.md "What the simulator found"):
 * - at the heal, a push/pull from the other side carried its stale verdicts about this
 *   side's members, and nodes suspected reachable members of their own side for a few ms
 *   (targets moved for that moment). A push/pull's verdict about a member held alive now
 *   only warns that member, which refutes.
 * - a prober that Lifeguard stretched over every other round kept landing on the same
 *   ring slot, so one side never probed, and never found, an unreachable member.
 */
import { describe, expect, test } from 'bun:test'
import { MsgTag } from '../../src/codec/swim-messages.ts'
import { SwimSim, partsOf, simSeed } from '../sim/swim-sim.ts'

const SEED = simSeed(31)

describe('partition and heal', () => {
  test('a push/pull verdict about a member held alive warns it (it refutes) instead of suspecting it', async () => {
    const c = new SwimSim({ seed: SEED, n: 4 })
    await c.startAll(300)
    expect(await c.runUntil(() => c.converged(), 20_000)).toBeGreaterThanOrEqual(0)
    const n0 = c.node(0)
    const states = partsOf(c.node(3)).table.pushStates().map((s) => (s.node === 'n1' ? { ...s, state: 2 as const } : s))
    partsOf(n0).table.mergeStates(states) // n3's view, with n1 dead at its current incarnation
    expect(n0.members.get('n1')?.state).toBe('alive')
    expect(await c.runUntil(() => c.node(1).incarnation === 1, 2_000, 1)).toBeGreaterThanOrEqual(0)
    expect(await c.runUntil(() => c.nodes.every((n) => n.name === 'n1' || n.members.get('n1')?.inc === 1), 5_000, 10)).toBeGreaterThanOrEqual(0)
    const suspected = c.events.filter((e) => / n1 alive>suspect/.test(e))
    expect(suspected).toEqual([])
  })

  test('a push/pull verdict about a member held suspect still counts toward its suspicion', async () => {
    const c = new SwimSim({ seed: SEED, n: 4 })
    await c.startAll(300)
    expect(await c.runUntil(() => c.converged(), 20_000)).toBeGreaterThanOrEqual(0)
    const n0 = c.node(0)
    c.crash(2)
    partsOf(n0).table.applySuspect({ t: MsgTag.Suspect, inc: 0, node: 'n2', from: 'n1' })
    const states = partsOf(c.node(3)).table.pushStates().map((s) => (s.node === 'n2' ? { ...s, state: 2 as const } : s))
    partsOf(n0).table.mergeStates(states)
    expect(n0.members.get('n2')?.state).toBe('suspect')
  })

  for (const seed of [SEED, SEED + 1, SEED + 2, SEED + 3, SEED + 4, SEED + 5, SEED + 6, SEED + 7]) {
    test(`3 + 2 (seed ${seed}): each side finds the other side dead; at the heal nobody suspects its own side`, async () => {
      const c = new SwimSim({ seed, n: 5 })
      await c.startAll(300)
      expect(await c.runUntil(() => c.converged(), 20_000)).toBeGreaterThanOrEqual(0)
      await c.run(3000)
      const a = ['n0', 'n1', 'n2']
      const b = ['n3', 'n4']
      const addr = (n: string) => c.nodes.find((x) => x.name === n)!.addr
      c.net.partition(a.map(addr), b.map(addr))
      const seesDead = (side: string[], other: string[]) =>
        side.every((x) => other.every((y) => c.nodes.find((n) => n.name === x)!.members.get(y)?.state === 'dead'))
      const split = await c.runUntil(() => seesDead(a, b) && seesDead(b, a), 15_000, 20)
      expect({ seed, split: split >= 0 }).toEqual({ seed, split: true })
      // The verdicts have spread and their retransmits are spent: a heal now meets only views,
      // no news in flight (a verdict still in flight at the heal is SWIM news, refuted as usual).
      await c.run(10_000)
      const healAt = c.clock.monotonic()
      c.net.heal()
      await c.run(40_000) // past a push/pull round, where stale verdicts used to arrive
      const side = (n: string) => (a.includes(n) ? 'a' : 'b')
      const ownSide = c.events.filter((e) => {
        const [t, obs, member, change] = e.split(' ')
        return Number(t) >= healAt && side(obs!) === side(member!) && obs !== member && /suspect|dead/.test(change!.split('>')[1]!)
      })
      expect({ seed, ownSide }).toEqual({ seed, ownSide: [] })
      expect(await c.runUntil(() => c.converged(), 30_000)).toBeGreaterThanOrEqual(0)
    })
  }
})
