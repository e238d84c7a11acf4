/**
 * Core behaviours on the simulator, one at a time: refutation, the buddy system, a
 * name back from a new address, a restart at the same address, reaping, metadata
 * limits, the delegate hooks, dropped garbage and the TCP fallback ping.
 */
import { describe, expect, test } from 'bun:test'
import { MsgTag } from '../../src/codec/swim-messages.ts'
import type { Delegate } from '../../src/membership/delegate.ts'
import { SwimNode } from '../../src/membership/swim-node.ts'
import { SwimSim, partsOf, simSeed } from '../sim/swim-sim.ts'

const SEED = simSeed(4242)

async function cluster(n: number, extra: Partial<ConstructorParameters<typeof SwimSim>[0]> = {}) {
  const c = new SwimSim({ seed: SEED, n, ...extra })
  await c.startAll(500)
  expect(await c.runUntil(() => c.converged(), 20_000)).toBeGreaterThanOrEqual(0)
  return c
}

describe('SWIM core', () => {
  test('a suspected node refutes with a higher incarnation; nobody marks it dead', async () => {
    const c = await cluster(8)
    partsOf(c.node(2)).table.applySuspect({ t: MsgTag.Suspect, inc: 0, node: 'n1', from: 'n2' })
    expect(c.node(2).members.get('n1')?.state).toBe('suspect')
    // Watched at 1 ms steps: a successful probe soon after lowers the score again.
    expect(await c.runUntil(() => c.node(1).incarnation === 1, 5_000, 1)).toBeGreaterThanOrEqual(0)
    expect(c.node(1).health).toBe(1) // Lifeguard: refuting counts against our own health
    const t = await c.runUntil(() => c.nodes.every((n) => n.name === 'n1' || (n.members.get('n1')?.state === 'alive' && n.members.get('n1')?.inc === 1)), 5_000, 10)
    expect(t).toBeGreaterThanOrEqual(0)
    expect(c.node(1).incarnation).toBe(1)
    await c.run(20_000)
    expect(c.falsePositives).toEqual([])
  })

  test('a member that missed a refutation is told by whoever hears its stale accusation, before its suspicion ends', async () => {
    const c = await cluster(6, { config: { pushPullIntervalMs: 0 } })
    const n2 = c.node(2)
    // n2 loses every packet that carries n1's refutation for the first 1.5 s, as an
    // unlucky gossip draw would; everything else flows.
    let dropping = true
    const send = c.net.send.bind(c.net)
    c.net.send = (from, to, data) => {
      if (dropping && to === n2.addr) {
        const r = c.codec.decode(data)
        if (r.ok && r.value.msgs.some((m) => m.t === MsgTag.Alive && m.node === 'n1')) return
      }
      send(from, to, data)
    }
    partsOf(n2).table.applySuspect({ t: MsgTag.Suspect, inc: 0, node: 'n1', from: 'n2' })
    expect(await c.runUntil(() => c.node(1).incarnation === 1, 2000, 1)).toBeGreaterThanOrEqual(0)
    await c.run(1500)
    dropping = false
    expect(n2.members.get('n1')?.state).toBe('suspect')
    const t = await c.runUntil(() => n2.members.get('n1')?.state === 'alive' && n2.members.get('n1')?.inc === 1, 10_000, 10)
    console.log(`stale suspicion at n2 cleared ${t} ms after the losses ended`)
    expect(t).toBeGreaterThanOrEqual(0)
    await c.run(10_000)
    expect(c.falsePositives).toEqual([])
  })

  test('buddy system: a probe of a suspect carries the suspicion', async () => {
    const c = await cluster(5)
    const seen: number[][] = []
    const send = c.net.send.bind(c.net)
    c.net.send = (from, to, data) => {
      if (from === c.node(0).addr && to === c.node(1).addr) {
        const r = c.codec.decode(data)
        if (r.ok) seen.push(r.value.msgs.map((m) => m.t))
      }
      send(from, to, data)
    }
    partsOf(c.node(0)).table.applySuspect({ t: MsgTag.Suspect, inc: 0, node: 'n1', from: 'n0' })
    partsOf(c.node(0)).prober.probe('n1')
    const first = seen.find((ts) => ts.includes(MsgTag.Ping))
    expect(first?.slice(0, 2)).toEqual([MsgTag.Suspect, MsgTag.Ping])
  })

  test('a name comes back from a new address once the old holder is dead', async () => {
    const c = await cluster(6)
    c.crash(3)
    expect(await c.runUntil(() => c.allSee('n3', ['dead']), 30_000)).toBeGreaterThanOrEqual(0)
    c.nodes.splice(3, 1)
    c.crashed.delete('n3')
    const reborn = c.addNode('n3', '10.9.9.9:7946')
    reborn.start()
    void reborn.join([c.node(0).addr], 1000)
    const t = await c.runUntil(() => c.nodes.every((n) => n === reborn || (n.members.get('n3')?.state === 'alive' && n.members.get('n3')?.addr === '10.9.9.9:7946')), 10_000)
    expect(t).toBeGreaterThanOrEqual(0)
  })

  test('a restart at the same address refutes its old death', async () => {
    const c = await cluster(6)
    const addr = c.node(2).addr
    c.crash(2)
    expect(await c.runUntil(() => c.allSee('n2', ['dead']), 30_000)).toBeGreaterThanOrEqual(0)
    c.nodes.splice(2, 1)
    c.crashed.delete('n2')
    const again = c.addNode('n2', addr)
    again.start()
    void again.join([c.node(0).addr], 1000)
    expect(await c.runUntil(() => c.converged(), 10_000)).toBeGreaterThanOrEqual(0)
    expect(again.incarnation).toBeGreaterThan(0)
    expect(again.peerViewOfSelf).toBe('dead') // the cluster saw it gone: a newcomer for ownership
  })

  test('a join tells the node how the cluster saw it: unknown when new, alive after a quick restart', async () => {
    const c = await cluster(6)
    const fresh = c.addNode('n9', '10.0.9.9:7946')
    fresh.start()
    void fresh.join([c.node(0).addr], 1000)
    expect(await c.runUntil(() => c.converged(), 10_000)).toBeGreaterThanOrEqual(0)
    expect(fresh.peerViewOfSelf).toBeUndefined()
    // n3 crashes and is back within a fraction of the detection time.
    const addr = c.node(3).addr
    c.crash(3)
    await c.run(200)
    c.nodes.splice(3, 1)
    c.crashed.delete('n3')
    const again = c.addNode('n3', addr, { meta: { http: '10.0.0.3:8080', boot: 'second' } })
    again.start()
    void again.join([c.node(0).addr], 1000)
    expect(await c.runUntil(() => again.peerViewOfSelf !== undefined, 5_000, 5)).toBeGreaterThanOrEqual(0)
    expect(again.peerViewOfSelf).toBe('alive')
  })

  test('dead members are reaped after reapAfterMs', async () => {
    const c = await cluster(5, { config: { reapAfterMs: 20_000 } })
    c.crash(4)
    expect(await c.runUntil(() => c.allSee('n4', ['dead']), 30_000)).toBeGreaterThanOrEqual(0)
    expect(await c.runUntil(() => c.live().every((n) => !n.members.has('n4')), 40_000)).toBeGreaterThanOrEqual(0)
  })

  test('urgent news does not wait for gossip rounds: a death reaches every survivor within tens of ms', async () => {
    const spread = async (urgentGossipDelayMs: number) => {
      const c = await cluster(16, { config: { urgentGossipDelayMs } })
      c.net.conditions = { minDelayMs: 1, maxDelayMs: 5, loss: 0, duplicate: 0 }
      await c.run(3000)
      c.crash(9)
      expect(await c.runUntil(() => c.allSee('n9', ['dead']), 30_000, 5)).toBeGreaterThanOrEqual(0)
      const seen = [...(c.deadSeen.get('n9')?.values() ?? [])]
      return Math.max(...seen) - Math.min(...seen)
    }
    const eager = await spread(5)
    const rounds = await spread(-1)
    console.log(`16 nodes: first to last survivor marking a crash dead: ${eager.toFixed(0)} ms with urgent rounds, ${rounds.toFixed(0)} ms without`)
    expect(eager).toBeLessThan(100)
    expect(eager).toBeLessThan(rounds)
  })

  test('oversized metadata is refused at start', () => {
    const c = new SwimSim({ seed: SEED, n: 1 })
    expect(() => c.addNode('big', '10.1.1.1:1', { meta: { blob: 'x'.repeat(600) } })).toThrow(/metadata too large/)
  })

  test('delegate: broadcasts piggyback, state rides push/pull, requests get answers', async () => {
    const got = new Map<string, string[]>()
    const states = new Map<string, string>()
    const mk = (name: string): Delegate => {
      let pending = name === 'd0' ? [new TextEncoder().encode('hello from d0')] : []
      return {
        nodeMeta: () => new Uint8Array(0),
        getBroadcasts: (_o, limit) => {
          const out = pending.filter((p) => p.length < limit)
          pending = []
          return out
        },
        notifyMsg: (_from, p) => got.set(name, [...(got.get(name) ?? []), new TextDecoder().decode(p)]),
        localState: () => new TextEncoder().encode(`state of ${name}`),
        mergeRemoteState: (from, p) => states.set(`${name}<${from}`, new TextDecoder().decode(p)),
        handleUserRequest: (from, p) => new TextEncoder().encode(`${name} answers ${from}: ${new TextDecoder().decode(p)}`),
      }
    }
    const c = new SwimSim({ seed: SEED, n: 0 })
    const nodes = [0, 1, 2, 3].map((i) => c.addNode(`d${i}`, `10.2.0.${i}:7946`, { delegate: mk(`d${i}`) }))
    nodes[0]!.start()
    for (const n of nodes.slice(1)) {
      n.start()
      void n.join([nodes[0]!.addr], 1000)
    }
    await c.run(3000)
    expect(states.get('d1<d0')).toBe('state of d0') // join push/pull, both ways
    expect(states.get('d0<d1')).toBe('state of d1')
    expect([...got.values()].flat().filter((x) => x === 'hello from d0').length).toBeGreaterThanOrEqual(1)
    let answer = ''
    void nodes[2]!.userRequest('d3', new TextEncoder().encode('ping?'), 1000).then((r) => (answer = new TextDecoder().decode(r)))
    await c.run(200)
    expect(answer).toBe('d3 answers d2: ping?')
  })

  test('a gossip round reaches more members only while a backlog fills its packets', async () => {
    const c = new SwimSim({ seed: SEED, n: 0 })
    // Like the CRDT queue: each payload goes out up to 3 times, least-sent first.
    const pending: Array<{ bytes: Uint8Array; left: number }> = []
    const push = (n: number) => pending.push({ bytes: new Uint8Array(n), left: 3 })
    const delegate: Delegate = {
      nodeMeta: () => new Uint8Array(0),
      getBroadcasts(overhead, limit) {
        pending.sort((a, b) => b.left - a.left)
        const out: Uint8Array[] = []
        let used = 0
        for (const p of pending)
          if (p.left > 0 && used + overhead + p.bytes.length <= limit) {
            used += overhead + p.bytes.length
            p.left--
            out.push(p.bytes)
          }
        return out
      },
      notifyMsg: () => {},
      localState: () => new Uint8Array(0),
      mergeRemoteState: () => {},
    }
    const nodes = Array.from({ length: 16 }, (_, i) => c.addNode(`g${i}`, `10.3.0.${i}:7946`, i === 0 ? { delegate } : {}))
    for (const n of nodes) n.start()
    for (const n of nodes.slice(1)) void n.join([nodes[0]!.addr], 1000)
    expect(await c.runUntil(() => c.converged(), 20_000)).toBeGreaterThanOrEqual(0)
    await c.run(5000) // membership news drained
    const round = () => {
      const to = new Set<string>()
      const send = c.net.send.bind(c.net)
      c.net.send = (from, dst, data) => {
        if (from === nodes[0]!.addr) to.add(dst)
        send(from, dst, data)
      }
      partsOf(nodes[0]!).gossip.round()
      c.net.send = send
      return to.size
    }
    push(100)
    expect(round()).toBe(nodes[0]!.config.gossipNodes) // short news: memberlist's round
    for (let i = 0; i < 40; i++) push(600)
    expect(round()).toBe(nodes[0]!.config.gossipNodes * nodes[0]!.config.gossipPacketsPerNode) // a backlog: more members, one packet each
  })

  test('garbage datagrams are dropped and counted, never thrown', async () => {
    const c = await cluster(3)
    const target = c.node(1)
    c.net.send('10.66.0.1:1', target.addr, new Uint8Array([0x82, 0x01])) // unknown sender: unreachable, ignored
    const t = c.net.transport('10.66.0.1:1')
    t.sendPacket(target.addr, new Uint8Array([0xff, 0x00, 0x13]))
    t.sendPacket(target.addr, new Uint8Array([0x82, 0x07, 0x80]))
    t.sendPacket(target.addr, new Uint8Array([0x82]))
    await c.run(100)
    expect(Object.fromEntries(target.stats.drops)).toEqual({ malformed: 1, version: 1, truncated: 1 })
  })

  test('UDP blocked for one node but TCP open: the fallback ping keeps it alive', async () => {
    const c = await cluster(8, { log: false })
    c.net.udpBlocked.add(c.node(5).addr)
    await c.run(60_000)
    const wrong = c.falsePositives.filter((x) => x.split('>')[1]?.startsWith('n5@'))
    expect(wrong).toEqual([])
    expect(c.node(0).members.get('n5')?.state).not.toBe('dead')
  })
})

// Keep the import used for readers who look for the node type here.
export type { SwimNode }
