/**
 * SWIM membership as an agent runs it, modelled on memberlist's Create / Join /
 * Leave / Shutdown and Serf's retry-join: builds the codec (with the keyring when
 * keys are given) and the SWIM node on the transport, clock and rng it is handed,
 * joins through seeds, retries `retryJoin` seeds on the clock in the background,
 * and exports membership metrics. No real I/O here: the CLI hands in a bound UDP
 * transport and the real clock, the simulator a SimTransport and a SimClock.
 */
import { Keyring } from '../codec/keyring.ts'
import { DEFAULT_WIRE_LIMITS } from '../codec/limits.ts'
import { SwimCodec } from '../codec/swim-envelope.ts'
import { profile, type ProfileName, type SwimConfig } from '../membership/config.ts'
import type { Delegate } from '../membership/delegate.ts'
import { SwimNode } from '../membership/swim-node.ts'
import type { MemberInfo, MemberState, SwimStats } from '../membership/types.ts'
import type { Counter, Registry } from '../metrics/registry.ts'
import type { Cancel, Clock } from '../seams/clock.ts'
import type { Logger } from '../seams/log.ts'
import type { Rng } from '../seams/rng.ts'
import type { Transport } from '../seams/transport.ts'

export type { MemberInfo, MemberState }

export interface MembershipOptions {
  name: string
  /** A bound transport; its localAddr is the address peers use. Shut down with the membership. */
  transport: Transport
  clock: Clock
  rng: Rng
  profile: ProfileName
  /** Knobs that override the profile's (see membership/config.ts); for experiments and benchmarks. */
  overrides?: Partial<SwimConfig>
  /** base64 AES-256 keys; the first is the primary (encrypts), all decrypt. */
  keys?: string[]
  /** Carried in every envelope and checked: packets of another cluster are dropped (`cluster`). '' = none. */
  clusterName?: string
  meta: Record<string, string>
  delegate?: Delegate
  metrics: Registry
  log: Logger
}

/** What the real transport must be told before membership exists: frame cap and stream timeout. */
export function transportLimits(profileName: ProfileName, overrides?: Partial<SwimConfig>): { maxFrameBytes: number; serveTimeoutMs: number } {
  return { maxFrameBytes: DEFAULT_WIRE_LIMITS.maxFrameBytes, serveTimeoutMs: profile(profileName, overrides).streamTimeoutMs * 2 }
}

/**
 * Why packets and messages are dropped (heck_packets_dropped_total{reason}): the codec's
 * reasons, membership's own, and the transport's frame-level ones (runtime/udp-transport.ts).
 */
export const DROP_REASONS = ['auth', 'cluster', 'limit', 'malformed', 'oversized', 'replay', 'truncated', 'unknown-tag', 'version', 'misdirected', 'unexpected', 'stranger', 'frame-oversized', 'frame-timeout'] as const

/** Stats that feed the registry as they change. */
function meteredStats(metrics: Registry): SwimStats {
  const bytes = metrics.counter('heck_gossip_bytes_total', 'Membership bytes sent and received, by direction.')
  const dropped = metrics.counter('heck_packets_dropped_total', 'Membership packets and messages dropped, by reason.')
  // Every known label value starts at 0 (Prometheus' advice for labelled counters).
  for (const direction of ['in', 'out']) bytes.inc({ direction }, 0)
  for (const reason of DROP_REASONS) dropped.inc({ reason }, 0)
  let bytesIn = 0
  let bytesOut = 0
  const counted = (c: Counter, dir: string, from: number, to: number) => c.inc({ direction: dir }, to - from)
  class Drops extends Map<string, number> {
    override set(k: string, v: number): this {
      dropped.inc({ reason: k }, v - (this.get(k) ?? 0))
      return super.set(k, v)
    }
  }
  return {
    get bytesIn() {
      return bytesIn
    },
    set bytesIn(v: number) {
      counted(bytes, 'in', bytesIn, v)
      bytesIn = v
    },
    get bytesOut() {
      return bytesOut
    },
    set bytesOut(v: number) {
      counted(bytes, 'out', bytesOut, v)
      bytesOut = v
    },
    drops: new Drops(),
  }
}

export class SwimMembership {
  readonly name: string
  private readonly node: SwimNode
  private readonly transport: Transport
  private stopped = false
  private retryCancel?: Cancel

  constructor(private readonly opts: MembershipOptions) {
    this.name = opts.name
    this.transport = opts.transport
    const config = profile(opts.profile, opts.overrides)
    const keyring = opts.keys && opts.keys.length > 0 ? Keyring.fromBase64(opts.keys) : undefined
    const codec = new SwimCodec(keyring, { maxMetaBytes: config.metaMaxBytes }, undefined, opts.clusterName ?? '')
    this.node = new SwimNode({
      name: opts.name,
      config,
      clock: opts.clock,
      rng: opts.rng,
      transport: opts.transport,
      codec,
      meta: opts.meta,
      delegate: opts.delegate,
      log: opts.log,
      stats: meteredStats(opts.metrics),
    })
    const gauge = opts.metrics.gauge('heck_members', 'Members by state, as this node sees them (itself included).')
    gauge.collect(() => {
      const counts: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 }
      for (const m of this.node.list()) counts[m.state]++
      return Object.entries(counts).map(([state, v]) => [{ state }, v])
    })
    this.node.onChange((m, prev) => opts.log('info', `member ${m.name} ${prev ?? 'new'} -> ${m.state}`, { member: m.name, addr: m.addr, state: m.state, prev }))
    this.encrypted = !!keyring
    this.keyring = keyring
  }

  private readonly encrypted: boolean
  private readonly keyring?: Keyring

  /**
   * New gossip keys (rotation), the first the primary. Encryption cannot be switched on
   * or off while running: every peer would drop this node's packets, or it theirs.
   */
  rekey(keys: string[]): void {
    if (!this.keyring) throw new Error('gossip runs without encryption; restart the agent with keys to turn it on')
    this.keyring.replaceKeys(keys)
    this.opts.log('info', 'gossip keys replaced', { keys: keys.length })
  }

  /** The advertised address. */
  get addr(): string {
    return this.transport.localAddr
  }

  /** Begins probing and gossiping. */
  start(): void {
    this.node.start()
    this.opts.log('info', 'membership started', { name: this.name, addr: this.addr, profile: this.opts.profile, encrypted: this.encrypted })
  }

  /** Push/pull with each seed at once; resolves with how many answered within timeoutMs. */
  async join(seeds: string[], timeoutMs: number): Promise<number> {
    const ok = await this.node.join(seeds, timeoutMs)
    if (ok > 0) this.opts.log('info', 'joined', { seeds, answered: ok })
    return ok
  }

  /** Tries `seeds` now and then every `intervalMs` until one answers (Serf's retry-join). */
  retryJoin(seeds: string[], intervalMs: number, timeoutMs: number): void {
    const attempt = async () => {
      this.retryCancel = undefined
      if (this.stopped) return
      const ok = await this.node.join(seeds, timeoutMs)
      if (this.stopped) return
      if (ok > 0) return this.opts.log('info', 'joined (retry-join)', { seeds, answered: ok })
      this.opts.log('warn', 'retry-join: no seed answered; retrying', { seeds, inMs: intervalMs })
      this.retryCancel = this.opts.clock.after(intervalMs, () => void attempt())
    }
    void attempt()
  }

  members(): MemberInfo[] {
    return this.node.list()
  }

  onChange(fn: (m: MemberInfo, prev?: MemberState) => void): void {
    this.node.onChange(fn)
  }

  /** Lifeguard's local health score of this node (0 = healthy .. 8). */
  localHealthScore(): number {
    return this.node.health
  }

  /** How the last push/pull peer saw this node (SwimNode.peerViewOfSelf). */
  peerViewOfSelf(): MemberState | undefined {
    return this.node.peerViewOfSelf
  }

  userRequest(toName: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.node.userRequest(toName, payload, timeoutMs)
  }

  /** Graceful: peers record `left` at once instead of suspecting. */
  async leave(timeoutMs: number): Promise<void> {
    if (this.stopped) return
    await this.node.leave(timeoutMs)
    this.opts.log('info', 'left the cluster', {})
  }

  /** Stops the SWIM loops and closes the transport. */
  async shutdown(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.retryCancel?.()
    this.node.stop()
    await this.transport.close()
  }
}
