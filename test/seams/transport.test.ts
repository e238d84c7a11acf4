/**
 * One Transport contract (transport-contract.ts), two implementations: the real one
 * (src/runtime/udp-transport.ts: Bun UDP and TCP on loopback, real time, bounded
 * waits) and the simulated one (test/sim/sim-network.ts: SimTransport on a SimClock,
 * where time passes only as the harness advances it).
 */
import { freePort } from '../../src/runtime/free-port.ts'
import { UdpTransport } from '../../src/runtime/udp-transport.ts'
import { SeededRng } from '../../src/seams/rng.ts'
import type { Transport } from '../../src/seams/transport.ts'
import { SimClock } from '../sim/sim-clock.ts'
import { SimNetwork } from '../sim/sim-network.ts'
import { simSeed } from '../sim/swim-sim.ts'
import { transportContract, type TransportHarness } from './transport-contract.ts'

const MAX_FRAME_BYTES = 64 * 1024

transportContract('UdpTransport (Bun UDP + TCP, loopback)', () => {
  const opened: Transport[] = []
  return {
    maxFrameBytes: MAX_FRAME_BYTES,
    async open() {
      const t = await UdpTransport.start({ bind: '127.0.0.1:0', maxFrameBytes: MAX_FRAME_BYTES, serveTimeoutMs: 2000 })
      opened.push(t)
      return t
    },
    deadAddr: () => `127.0.0.1:${freePort()}`,
    async settle(p, withinMs = 3000) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not settled within ${withinMs} ms`)), withinMs)
      })
      try {
        return await Promise.race([p, late])
      } finally {
        clearTimeout(timer)
      }
    },
    now: () => performance.now(),
    async cleanup() {
      await Promise.all(opened.splice(0).map((t) => t.close()))
    },
  } satisfies TransportHarness
})

transportContract('SimTransport (simulated network)', () => {
  const clock = new SimClock()
  const net = new SimNetwork(clock, new SeededRng(simSeed(31)).fork('net'))
  net.maxFrameBytes = MAX_FRAME_BYTES
  let next = 1
  return {
    maxFrameBytes: MAX_FRAME_BYTES,
    open: async () => net.transport(`10.9.0.${next++}:7946`),
    deadAddr: () => '10.9.255.255:7946',
    async settle(p, withinMs = 3000) {
      let done = false
      const watched = p.finally(() => {
        done = true
      })
      watched.catch(() => {})
      const end = clock.monotonic() + withinMs
      // One simulated ms at a time, with the microtasks (handlers, replies) run in between.
      while (!done) {
        if (clock.monotonic() >= end) throw new Error(`not settled within ${withinMs} simulated ms`)
        clock.advance(1)
        await new Promise((r) => setImmediate(r))
      }
      return p
    },
    now: () => clock.monotonic(),
    async cleanup() {},
  } satisfies TransportHarness
})
