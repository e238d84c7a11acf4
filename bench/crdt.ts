/**
 * Replicated-state benchmark (issue 5): prints
 *  1. bytes on the wire per health update, delta vs full state, at 1,000 and
 *     10,000 targets with 16 nodes;
 *  2. gossip rounds for one change to reach all of 1,000 simulated nodes;
 *  3. metadata per node across 2 hours of simulated churn (restarts without a
 *     data dir, leaves, joins): fold markers live 1 hour, so the second hour
 *     shows the plateau.
 * Run: node_modules/.bin/bun bench/crdt.ts   (BENCH_QUICK=1 for a short run)
 */
import { encodeDelta, encodeDigest, encodeFull, Tag } from '../src/crdt/codec.ts'
import { type Delta, cloneState } from '../src/crdt/dot-store.ts'
import { SimClock } from '../test/sim/sim-clock.ts'
import { GossipSim, defaultSim, type SimNode } from '../test/crdt/gossip-harness.ts'
import { mkReplica } from '../test/crdt/helpers.ts'

const quick = process.env.BENCH_QUICK === '1'
const fmt = (n: number) => n.toLocaleString('en-US')

function targetDef(i: number) {
  return { url: `https://svc-${i}.example.internal:8443/healthz`, interval: '10s', timeout: '2s', expect: { status: 200 } }
}

function wireBytes(targets: number, nodes = 16) {
  const clock = new SimClock()
  const reps = Array.from({ length: nodes }, (_, i) => mkReplica(`node-${i}`, clock).rs)
  const file = Array.from({ length: targets }, (_, i) => ({ id: `t${i}`, def: targetDef(i) }))
  reps[0]!.setContribution('node-0', file)
  for (let i = 0; i < targets; i++) {
    const owner = reps[i % nodes]!
    owner.observe(`t${i}`, { status: 'up', since: clock.now(), last: clock.now(), term: 1, owner: owner.nodeName })
  }
  const all = reps[0]!
  for (const r of reps.slice(1)) all.ae.mergeFull(cloneState(r.state))
  const peer = mkReplica('peer', clock).rs
  peer.ae.mergeFull(cloneState(all.state))
  clock.advance(10_000)
  const captured: Delta[] = []
  const local = all.ae.local.bind(all.ae)
  all.ae.local = (d) => {
    captured.push(d)
    local(d)
  }
  all.observe('t7', { status: 'down', since: clock.now(), last: clock.now(), term: 1, owner: 'node-0', error: 'connect ECONNREFUSED' })
  const delta = encodeDelta(captured[0]!).byteLength
  const full = encodeFull(Tag.Full, all.state).byteLength
  const digest = encodeDigest(Tag.Digest, all.state.ctx).byteLength
  const sync = all.ae.syncReply(peer.state.ctx).byteLength
  return { targets, nodes, delta, full, digest, sync, ratio: full / delta }
}

function spreadRounds(seed: number, loss: number) {
  const sim = new GossipSim({ ...defaultSim, nodes: 1000, seed, loss, duplicate: 0, maxDelayMs: 0, pushPullChance: 0 })
  sim.nodes[0]!.rs.observe('t1', { status: 'down', since: 0, last: 0, term: 1, owner: 'n0000' })
  const has = (n: SimNode) => n.rs.health('t1') !== undefined
  let rounds = 0
  while (!sim.nodes.every(has) && rounds < 200) {
    sim.step()
    rounds++
  }
  return { rounds, reached: sim.nodes.filter(has).length }
}

function churn(hours: number) {
  const roundMs = 200
  const sim = new GossipSim({ ...defaultSim, nodes: 16, seed: 42, roundMs, loss: 0.05, duplicate: 0.02, maxDelayMs: 300, pushPullChance: 0.01 })
  const rng = sim.rng.fork('churn')
  let nextName = 16
  const minted = new Set<string>(sim.nodes.map((n) => n.rs.replicaId))
  const contribute = (n: SimNode) =>
    n.rs.setContribution(n.name, Array.from({ length: 20 }, (_, i) => ({ id: `t${(i * 7 + Number(n.name.slice(1))) % 200}`, def: targetDef(i) })))
  const joinSync = (n: SimNode) => {
    const peer = sim.live().find((p) => p !== n)
    if (!peer) return
    n.rs.ae.mergeFull(cloneState(peer.rs.state))
    peer.rs.ae.mergeFull(cloneState(n.rs.state))
  }
  for (const n of sim.live()) contribute(n)
  const totalRounds = Math.round((hours * 3_600_000) / roundMs)
  const rows: string[] = []
  let restarts = 0
  let leaves = 0
  for (let r = 1; r <= totalRounds; r++) {
    for (let k = 0; k < 2; k++) {
      const live = sim.live()
      const n = live[rng.int(live.length)]!
      n.rs.observe(`t${rng.int(200)}`, { status: rng.int(4) ? 'up' : 'down', since: r, last: r, term: 1 + rng.int(3), owner: n.name })
    }
    const t = r * roundMs
    if (t % 60_000 === 0) {
      const live = sim.live()
      const victim = live[rng.int(live.length)]!
      victim.up = false
      let n: SimNode
      if (rng.int(2) === 0) {
        restarts++ // same name, state lost (no data dir): a new incarnation
        n = sim.add(victim.name, sim.clock.now())
      } else {
        leaves++ // gone for good; a new node joins under a new name
        n = sim.add(`n${String(nextName++).padStart(4, '0')}`, sim.clock.now())
      }
      minted.add(n.rs.replicaId)
      joinSync(n)
      contribute(n)
    }
    if (t % 5_000 === 0) sim.announce()
    sim.step()
    if (t % 900_000 === 0) {
      const st = sim.live().map((n) => ({ ...n.rs.stats(), digest: encodeDigest(Tag.Digest, n.rs.state.ctx).byteLength }))
      const max = (k: keyof (typeof st)[number]) => Math.max(...st.map((s) => s[k] as number))
      rows.push(
        `| ${t / 60_000} min | ${restarts + leaves} (${restarts} restarts, ${leaves} leaves) | ${minted.size} | ${max('contextReplicas')} | ${max('folded')} | ${max('exceptions')} | ${max('digest')} | ${fmt(max('logBytes'))} | ${max('queued')} | ${max('held')} |`,
      )
    }
  }
  return rows
}

console.log('## 1. Bytes per health update (16 nodes)\n')
console.log('| targets | delta bytes | full state bytes | full / delta | digest bytes | sync reply for 1 missing update |')
console.log('|---|---|---|---|---|---|')
for (const n of quick ? [1000] : [1000, 10_000]) {
  const w = wireBytes(n)
  console.log(`| ${fmt(w.targets)} | ${w.delta} | ${fmt(w.full)} | ${fmt(Math.round(w.ratio))}x | ${w.digest} | ${w.sync} |`)
}

console.log('\n## 2. Rounds for one change to reach all of 1,000 simulated nodes (piggyback only, fanout 3)\n')
for (const loss of [0, 0.1]) {
  const runs = (quick ? [1, 2] : [1, 2, 3, 4, 5]).map((s) => spreadRounds(s, loss))
  const rs = runs.map((r) => r.rounds).sort((a, b) => a - b)
  console.log(`loss ${loss * 100}%: rounds ${rs.join(', ')} (median ${rs[Math.floor(rs.length / 2)]}); reached ${runs.map((r) => r.reached).join(', ')} of 1000`)
}

console.log('\n## 3. Metadata per node under churn (16 live nodes, 1 churn event/min, 200 ms rounds, 5% loss; max over live nodes)\n')
console.log('| sim time | churn events | replica ids ever minted | context entries (wire) | fold markers | exceptions | digest bytes | delta log bytes | queued | held |')
console.log('|---|---|---|---|---|---|---|---|---|---|')
for (const row of churn(quick ? 0.25 : 2)) console.log(row)
