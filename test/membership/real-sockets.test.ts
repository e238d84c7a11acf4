/**
 * Real sockets, one process: five memberships on 127.0.0.1 ephemeral ports through
 * the facade (profile `local`, encrypted), joined via one seed. One is shut down
 * hard and must be marked dead by all; one leaves and must be marked left; a node
 * with the wrong key cannot join. Bounded: every wait has a deadline.
 */
import { afterAll, expect, test } from 'bun:test'
import { generateKey } from '../../src/codec/keyring.ts'
import { Registry } from '../../src/metrics/registry.ts'
import type { Delegate } from '../../src/membership/delegate.ts'
import { SwimMembership, transportLimits } from '../../src/gossip/membership.ts'
import { realClock } from '../../src/runtime/real-clock.ts'
import { randomRng } from '../../src/runtime/random-rng.ts'
import { UdpTransport } from '../../src/runtime/udp-transport.ts'

type MembershipHandle = SwimMembership

const key = generateKey()
const started: MembershipHandle[] = []
const quiet = () => {}

afterAll(async () => {
  await Promise.all(started.map((h) => h.shutdown()))
})

async function waitFor(pred: () => boolean, deadlineMs: number): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < deadlineMs) {
    if (pred()) return performance.now() - t0
    await Bun.sleep(25)
  }
  throw new Error(`condition not met within ${deadlineMs} ms`)
}

const echo: Delegate = {
  nodeMeta: () => new Uint8Array(0),
  getBroadcasts: () => [],
  notifyMsg: () => {},
  localState: () => new Uint8Array(0),
  mergeRemoteState: () => {},
  handleUserRequest: (from, p) => new TextEncoder().encode(`${from}:${new TextDecoder().decode(p)}`),
}

/** A membership on its own UDP transport, started and joined through `join` (rejects if no seed answered). */
async function start(name: string, join: string[], keys = [key], metrics = new Registry()) {
  const transport = await UdpTransport.start({ bind: '127.0.0.1:0', ...transportLimits('local') })
  const m = new SwimMembership({
    name,
    transport,
    clock: realClock,
    rng: randomRng(),
    profile: 'local',
    keys,
    meta: { http: `127.0.0.1:0`, version: 'test' },
    delegate: echo,
    metrics,
    log: quiet,
  })
  m.start()
  if (join.length > 0 && (await m.join(join, 1500)) === 0) {
    await m.shutdown()
    throw new Error(`could not join the cluster: none of ${join.join(', ')} answered within 1500 ms`)
  }
  return m
}

const stateOf = (h: MembershipHandle, name: string) => h.members().find((m) => m.name === name)?.state

test('five memberships on loopback: join, hard stop → dead, leave → left, wrong key refused', async () => {
  const seedMetrics = new Registry()
  const seed = await start('m0', [], [key], seedMetrics)
  started.push(seed)
  for (let i = 1; i < 5; i++) started.push(await start(`m${i}`, [seed.addr]))
  const names = started.map((h) => h.name)
  const tJoin = await waitFor(() => started.every((h) => names.every((n) => stateOf(h, n) === 'alive')), 10_000)
  console.log(`5 members converged ${tJoin.toFixed(0)} ms after the last join`)

  // The delegate's request/response rides the membership stream.
  const reply = await started[1]!.userRequest('m2', new TextEncoder().encode('hi'), 2000)
  expect(new TextDecoder().decode(reply)).toBe('m1:hi')

  // Hard stop: no leave. Everyone else must mark it dead.
  const victim = started[3]!
  const changes: string[] = []
  seed.onChange((m, prev) => changes.push(`${m.name}:${prev}>${m.state}`))
  await victim.shutdown()
  const survivors = started.filter((h) => h !== victim)
  const tDead = await waitFor(() => survivors.every((h) => stateOf(h, 'm3') === 'dead'), 15_000)
  console.log(`hard-stopped m3 marked dead by all survivors after ${tDead.toFixed(0)} ms`)

  // Graceful leave: peers record `left`, with no suspicion on the way.
  const leaver = started[4]!
  await leaver.leave(1000)
  const stayers = survivors.filter((h) => h !== leaver)
  const tLeft = await waitFor(() => stayers.every((h) => stateOf(h, 'm4') === 'left'), 3_000)
  console.log(`m4 marked left by all after ${tLeft.toFixed(0)} ms`)
  await leaver.shutdown()
  expect(changes.filter((c) => c.startsWith('m4:'))).toEqual(['m4:alive>left'])
  // No healthy member was ever marked dead.
  expect(changes.filter((c) => c.endsWith('>dead') && !c.startsWith('m3:'))).toEqual([])

  // Wrong key: the seed cannot authenticate it, so the join fails clearly.
  await expect(start('intruder', [seed.addr], [generateKey()])).rejects.toThrow(/could not join the cluster/)
  expect(seed.members().some((m) => m.name === 'intruder')).toBe(false)

  const text = seedMetrics.render()
  expect(text).toMatch(/heck_members\{state="alive"\} 3/)
  expect(text).toMatch(/heck_gossip_bytes_total\{direction="in"\} [1-9]/)
  expect(text).toMatch(/heck_packets_dropped_total\{reason="auth"\} [1-9]/)
}, 60_000)
