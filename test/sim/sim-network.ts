/**
 * A seeded in-memory network implementing the Transport seam: per-packet delay
 * (uniform in [minDelayMs, maxDelayMs], which also reorders), loss, duplication,
 * partitions (two-way and one-way) and slow nodes, all on one SimClock. Two kinds
 * of slow: a paused node's packets and timers wait until the pause ends (a GC
 * pause); a lagging node reads packets late while its timers run (an overloaded
 * process). Streams may be given the real transport's frame limit. Same seed,
 * same schedule.
 */
import type { Cancel, Clock } from '../../src/seams/clock.ts'
import type { Rng } from '../../src/seams/rng.ts'
import type { Addr, Transport } from '../../src/seams/transport.ts'
import type { SimClock } from './sim-clock.ts'

export interface NetConditions {
  minDelayMs: number
  maxDelayMs: number
  /** Probability a datagram is lost. */
  loss: number
  /** Probability a datagram is delivered twice. */
  duplicate: number
}

type PacketHandler = (from: Addr, data: Uint8Array) => void
type RequestHandler = (from: Addr, data: Uint8Array) => Promise<Uint8Array> | Uint8Array

interface Endpoint {
  addr: Addr
  onPacket?: PacketHandler
  onRequest?: RequestHandler
  closed: boolean
  crashed: boolean
  pausedUntil: number
  /** Extra ms before this node gets to each arriving packet, until `lagUntil`. */
  lagMs: number
  lagUntil: number
}

export class SimNetwork {
  conditions: NetConditions = { minDelayMs: 1, maxDelayMs: 5, loss: 0, duplicate: 0 }
  /**
   * Largest stream frame (request or reply, bytes) either end accepts, as the real
   * transport's maxFrameBytes: a request over it is closed without a reply, a reply
   * over it is refused by the requester. Default: no limit (the codec still has one).
   */
  maxFrameBytes = Number.POSITIVE_INFINITY
  readonly endpoints = new Map<Addr, Endpoint>()
  /** Directed cuts: "a>b" means packets from a never reach b. */
  private cuts = new Set<string>()
  /** Nodes whose datagrams are all dropped, in and out, while streams still work (a UDP-blocking firewall). */
  readonly udpBlocked = new Set<Addr>()
  packetsSent = 0
  packetsDelivered = 0

  constructor(readonly clock: SimClock, private readonly rng: Rng) {}

  transport(addr: Addr): SimTransport {
    const ep: Endpoint = { addr, closed: false, crashed: false, pausedUntil: 0, lagMs: 0, lagUntil: 0 }
    this.endpoints.set(addr, ep)
    return new SimTransport(this, ep)
  }

  /**
   * A clock for one node: its timers wait out the node's pauses and stop on crash.
   * `wallSkewMs` offsets its wall clock (now()) only, as an unsynchronised host would.
   */
  nodeClock(addr: Addr, wallSkewMs = 0): Clock {
    const net = this
    return {
      now: () => net.clock.now() + wallSkewMs,
      monotonic: () => net.clock.monotonic(),
      after(ms: number, fn: () => void): Cancel {
        let cancel: Cancel = () => {}
        let cancelled = false
        const fire = () => {
          if (cancelled) return
          const ep = net.endpoints.get(addr)
          if (ep?.crashed) return
          const wait = ep ? ep.pausedUntil - net.clock.monotonic() : 0
          if (wait > 0) cancel = net.clock.after(wait, fire)
          else fn()
        }
        cancel = net.clock.after(ms, fire)
        return () => {
          cancelled = true
          cancel()
        }
      },
    }
  }

  /** Cuts a→b, and b→a unless `oneWay`. */
  partition(a: Addr[], b: Addr[], oneWay = false): void {
    for (const x of a)
      for (const y of b) {
        this.cuts.add(`${x}>${y}`)
        if (!oneWay) this.cuts.add(`${y}>${x}`)
      }
  }

  heal(): void {
    this.cuts.clear()
  }

  /** Stops a node dead: no packets in or out, no timers. */
  crash(addr: Addr): void {
    const ep = this.endpoints.get(addr)
    if (ep) ep.crashed = true
  }

  /** Freezes a node's processing for `ms` (its packets queue up; its timers wait). */
  pause(addr: Addr, ms: number): void {
    const ep = this.endpoints.get(addr)
    if (ep) ep.pausedUntil = Math.max(ep.pausedUntil, this.clock.monotonic() + ms)
  }

  /**
   * Makes a node slow to handle what arrives, by `lagMs` per packet, for `forMs`,
   * while its timers still run on time: the overloaded member of the Lifeguard paper,
   * whose own probes seem to time out because it reads the acks late.
   */
  lag(addr: Addr, lagMs: number, forMs: number): void {
    const ep = this.endpoints.get(addr)
    if (!ep) return
    ep.lagMs = lagMs
    ep.lagUntil = this.clock.monotonic() + forMs
  }

  /** True when a packet from `from` would reach `to` now (both up, no cut between them). */
  canReach(from: Addr, to: Addr): boolean {
    return this.reachable(from, to) !== undefined
  }

  private reachable(from: Addr, to: Addr): Endpoint | undefined {
    const src = this.endpoints.get(from)
    const dst = this.endpoints.get(to)
    if (!src || !dst || src.crashed || src.closed || dst.crashed || dst.closed) return undefined
    if (this.cuts.has(`${from}>${to}`)) return undefined
    return dst
  }

  private delay(): number {
    const c = this.conditions
    return c.minDelayMs + this.rng.next() * (c.maxDelayMs - c.minDelayMs)
  }

  /** Runs `fn` at `to` after `ms`, later if `to` is paused then. */
  private deliverAt(to: Endpoint, ms: number, fn: () => void): void {
    if (this.clock.monotonic() < to.lagUntil) ms += to.lagMs
    const run = () => {
      if (to.crashed || to.closed) return
      const wait = to.pausedUntil - this.clock.monotonic()
      if (wait > 0) this.clock.after(wait, run)
      else fn()
    }
    this.clock.after(ms, run)
  }

  send(from: Addr, to: Addr, data: Uint8Array): void {
    this.packetsSent++
    const dst = this.reachable(from, to)
    if (!dst || this.udpBlocked.has(from) || this.udpBlocked.has(to) || this.rng.next() < this.conditions.loss) return
    const copies = this.rng.next() < this.conditions.duplicate ? 2 : 1
    for (let i = 0; i < copies; i++) {
      this.deliverAt(dst, this.delay(), () => {
        // Partitions that start while a packet is in flight still stop it.
        if (!this.reachable(from, to)) return
        this.packetsDelivered++
        dst.onPacket?.(from, data)
      })
    }
  }

  request(from: Addr, to: Addr, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      let settled = false
      const cancel = this.clock.after(timeoutMs, () => {
        if (settled) return
        settled = true
        reject(new Error(`request to ${to} timed out`))
      })
      const fail = (e: unknown) => {
        if (settled) return
        settled = true
        cancel()
        reject(e instanceof Error ? e : new Error(String(e)))
      }
      const dst = this.reachable(from, to)
      // Streams are reliable but cannot cross a partition: the connect fails.
      if (!dst) return void this.clock.after(this.delay(), () => fail(new Error(`connect to ${to} failed`)))
      const src = this.endpoints.get(from) as Endpoint
      this.deliverAt(dst, this.delay(), () => {
        if (data.length > this.maxFrameBytes) return fail(new Error(`stream to ${to} closed without a reply`))
        if (!dst.onRequest) return fail(new Error('no handler'))
        Promise.resolve()
          .then(() => (dst.onRequest as RequestHandler)(from, data))
          .then(
            (reply) => {
              if (!this.reachable(to, from)) return fail(new Error('connection reset'))
              this.deliverAt(src, this.delay(), () => {
                if (reply.length > this.maxFrameBytes) return fail(new Error(`reply from ${to} exceeds ${this.maxFrameBytes} bytes`))
                if (settled) return
                settled = true
                cancel()
                resolve(reply)
              })
            },
            fail,
          )
      })
    })
  }
}

export class SimTransport implements Transport {
  constructor(private readonly net: SimNetwork, private readonly ep: Endpoint) {}

  get localAddr(): Addr {
    return this.ep.addr
  }

  sendPacket(to: Addr, data: Uint8Array): void {
    this.net.send(this.ep.addr, to, data)
  }

  onPacket(handler: PacketHandler): void {
    this.ep.onPacket = handler
  }

  request(to: Addr, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.net.request(this.ep.addr, to, data, timeoutMs)
  }

  onRequest(handler: RequestHandler): void {
    this.ep.onRequest = handler
  }

  async close(): Promise<void> {
    this.ep.closed = true
  }
}
