/**
 * 100 replicas, random updates, loss, duplication, reordering and a partition
 * that heals: every replica converges to the same state (identical digests), no
 * removed entry comes back and no live one is lost — checked against an oracle
 * built from every delta minted. SIM_SEED picks the seed; failures print it.
 */
import { describe, expect, test } from 'bun:test'
import { type GossipSim as Sim, GossipSim, defaultSim, dotsHeld, liveDots } from './gossip-harness.ts'

const seeds = process.env.SIM_SEED ? [Number(process.env.SIM_SEED)] : [1, 2, 3]

function randomUpdates(sim: Sim, perRound: number): void {
  for (let i = 0; i < perRound; i++) {
    const live = sim.live()
    const n = live[sim.rng.int(live.length)]!
    const id = `t${sim.rng.int(60)}`
    switch (sim.rng.int(6)) {
      case 0:
      case 1:
        n.rs.putTarget(sim.rng.int(3) ? 'api' : n.name, id, { url: `http://${id}/`, rev: sim.rng.int(5) })
        break
      case 2:
        n.rs.removeTarget(id)
        break
      case 3:
        n.rs.setContribution(n.name, [{ id, def: { url: `http://${id}/` } }])
        break
      default:
        n.rs.observe(id, { status: sim.rng.int(2) ? 'up' : 'down', since: sim.round, last: sim.round, term: sim.rng.int(3), owner: n.name })
    }
  }
}

describe('gossip simulation', () => {
  for (const seed of seeds) {
    test(`100 replicas converge under loss, duplication, reordering and a healed partition (seed ${seed})`, () => {
      const sim = new GossipSim({ ...defaultSim, seed })
      try {
        const half = (name: string) => Number(name.slice(1)) < 50
        for (let r = 0; r < 60; r++) {
          if (r === 10) sim.blocked = (a, b) => half(a) !== half(b)
          if (r === 40) sim.blocked = () => false
          randomUpdates(sim, 3)
          sim.step()
        }
        const rounds = sim.runToConvergence(400)
        console.log(
          `[sim seed=${seed}] converged ${rounds} gossip rounds after the last update (partition healed 20 rounds before it); ` +
            `${sim.minted.length} deltas minted; bytes: piggyback ${sim.bytes.delta}, push/pull ${sim.bytes.sync}`,
        )
        expect(rounds).toBeGreaterThanOrEqual(0)
        const want = liveDots(sim.minted)
        for (const n of sim.live()) expect([...dotsHeld(n.rs)].sort()).toEqual([...want].sort())
        // The same, read as targets: an id is listed exactly when some registry entry of it was never removed.
        const liveIds = new Set<string>()
        const everIds = new Set<string>()
        for (const d of sim.minted)
          for (const [k, es] of d.store)
            if (k.startsWith('r/'))
              for (const e of es) {
                everIds.add(k.slice(2))
                if (want.has(`${e.r}:${e.n}`)) liveIds.add(k.slice(2))
              }
        const removed = [...everIds].filter((id) => !liveIds.has(id))
        console.log(`[sim seed=${seed}] ${liveIds.size} targets live, ${removed.length} removed for good`)
        for (const n of sim.live()) {
          expect([...n.rs.targets().keys()].sort()).toEqual([...liveIds].sort())
          for (const id of removed) expect(n.rs.target(id)).toBeUndefined()
        }
        for (const n of sim.live()) expect(n.rs.stats().held).toBe(0)
      } catch (e) {
        console.error(`simulation failed: SIM_SEED=${seed}`)
        throw e
      }
    }, 120_000)
  }
})
