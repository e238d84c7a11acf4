/**
 * Replayed encrypted packets, captured for real: two SwimNodes with one key on
 * loopback. Every sealed datagram and stream frame `a` sends is captured by
 * wrapping its transport. `a` leaves gracefully and restarts (a new boot id,
 * the same name and port); then every datagram of its first life (the leave's
 * among them) and its join push/pull frame are replayed to `b`. Each is dropped as `replay` and changes
 * nothing: `b` still sees `a` alive, at the same incarnation, with no member
 * event. Bounded: every wait has a deadline; sockets are closed at the end.
 */
import { afterAll, expect, test } from 'bun:test'
import { Keyring, generateKey } from '../../src/codec/keyring.ts'
import { SwimCodec } from '../../src/codec/swim-envelope.ts'
import { transportLimits } from '../../src/gossip/membership.ts'
import { profile } from '../../src/membership/config.ts'
import { SwimNode } from '../../src/membership/swim-node.ts'
import type { SwimStats } from '../../src/membership/types.ts'
import { realClock } from '../../src/runtime/real-clock.ts'
import { UdpTransport } from '../../src/runtime/udp-transport.ts'
import { SeededRng } from '../../src/seams/rng.ts'
import type { Transport } from '../../src/seams/transport.ts'

const key = generateKey()
const closers: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const c of closers.reverse()) await c()
})

async function waitFor(what: string, pred: () => boolean, deadlineMs = 8000): Promise<void> {
  const t0 = performance.now()
  while (!pred()) {
    if (performance.now() - t0 > deadlineMs) throw new Error(`${what}: not within ${deadlineMs} ms`)
    await Bun.sleep(20)
  }
}

interface Captured {
  to: string
  data: Uint8Array
}

/** The transport with every outgoing datagram and request frame copied into `out` while `on`. */
function capturing(t: Transport, out: { packets: Captured[]; frames: Captured[]; on: boolean }): Transport {
  return {
    get localAddr() {
      return t.localAddr
    },
    sendPacket(to, data) {
      if (out.on) out.packets.push({ to, data: data.slice() })
      t.sendPacket(to, data)
    },
    onPacket: (h) => t.onPacket(h),
    request(to, data, timeoutMs) {
      if (out.on) out.frames.push({ to, data: data.slice() })
      return t.request(to, data, timeoutMs)
    },
    onRequest: (h) => t.onRequest(h),
    close: () => t.close(),
  }
}

async function startNode(name: string, port = 0, capture?: { packets: Captured[]; frames: Captured[]; on: boolean }) {
  const real = await UdpTransport.start({ bind: `127.0.0.1:${port}`, ...transportLimits('local') })
  const stats: SwimStats = { bytesIn: 0, bytesOut: 0, drops: new Map() }
  const node = new SwimNode({
    name,
    config: profile('local'),
    clock: realClock,
    rng: new SeededRng(name.length + port),
    transport: capture ? capturing(real, capture) : real,
    // A keyring per start: a new boot id, as a restarted process gets.
    codec: new SwimCodec(Keyring.fromBase64([key])),
    meta: { version: 'test' },
    stats,
  })
  node.start()
  const stop = async () => {
    node.stop()
    await real.close()
  }
  closers.push(stop)
  return { node, stats, real, stop, port: real.boundPort }
}

const stateOf = (n: SwimNode, name: string) => n.list().find((m) => m.name === name)

test('captured sealed datagrams and frames replayed after a restart are dropped as `replay` and change nothing', async () => {
  const b = await startNode('b')
  const capture = { packets: [] as Captured[], frames: [] as Captured[], on: true }
  const a1 = await startNode('a', 0, capture)
  expect(await a1.node.join([b.real.localAddr], 2000)).toBe(1)
  await waitFor('b sees a alive', () => stateOf(b.node, 'a')?.state === 'alive')
  const joinFrames = capture.frames.filter((f) => f.to === b.real.localAddr)
  expect(joinFrames.length).toBeGreaterThan(0)

  // Gossip for a while, then the graceful leave: what an attacker on the path records.
  await Bun.sleep(300)
  const beforeLeave = capture.packets.length
  await a1.node.leave(500)
  capture.on = false
  await a1.stop()
  await waitFor('b sees a left', () => stateOf(b.node, 'a')?.state === 'left')
  const leavePackets = capture.packets.slice(beforeLeave).filter((p) => p.to === b.real.localAddr)
  expect(leavePackets.length).toBeGreaterThan(0)
  const firstLife = capture.packets.filter((p) => p.to === b.real.localAddr)

  // a restarts on the same address with a new boot id, and rejoins.
  const a2 = await startNode('a', a1.port)
  expect(await a2.node.join([b.real.localAddr], 2000)).toBe(1)
  await waitFor('b sees a alive again', () => stateOf(b.node, 'a')?.state === 'alive')
  const before = { ...(stateOf(b.node, 'a') as object) }
  const changes: string[] = []
  b.node.onChange((m, prev) => changes.push(`${m.name}:${prev}>${m.state}`))
  const drops = () => b.stats.drops.get('replay') ?? 0
  expect(drops()).toBe(0)

  // Replayed from a socket of the attacker's own.
  const attacker = await UdpTransport.start({ bind: '127.0.0.1:0', ...transportLimits('local') })
  closers.push(() => attacker.close())
  for (const p of firstLife) attacker.sendPacket(b.real.localAddr, p.data)
  await waitFor(`${firstLife.length} replayed datagrams dropped`, () => drops() >= firstLife.length) // today: 0 drops
  // A stream frame: the first life's join push/pull, on a new connection. It gets no answer.
  const frame = joinFrames[0] as Captured
  await expect(attacker.request(b.real.localAddr, frame.data, 1000)).rejects.toThrow()
  expect(drops()).toBe(firstLife.length + 1)

  // No effect: a is alive at the incarnation it rejoined with, and nothing changed meanwhile.
  await Bun.sleep(200)
  expect(stateOf(b.node, 'a')).toEqual(before as never)
  expect(changes).toEqual([])
  expect(b.stats.drops.get('auth') ?? 0).toBe(0)
  console.log(`replayed ${firstLife.length} datagrams (${leavePackets.length} from the leave) + 1 push/pull frame: ${drops()} dropped as replay`)
}, 30_000)
