/**
 * The membership facade `heck agent` uses: binds the UDP/TCP transport, builds the
 * codec (with the keyring when keys are given), runs the SWIM core on the real clock,
 * joins through seeds (failing clearly if none answers in time, retrying
 * `retryJoin` seeds in the background), and exports metrics. Modelled on
 * memberlist's Create/Join/Leave/Shutdown and Serf's retry-join.
 */
import type { Counter, Registry } from '../metrics/registry.ts'
import { Keyring } from '../codec/keyring.ts'
import { SwimCodec } from '../codec/swim-envelope.ts'
import { realClock } from './real-clock.ts'
import { randomRng } from './random-rng.ts'
import { UdpTransport } from './udp-transport.ts'
import { profile, type ProfileName, type SwimConfig } from '../membership/config.ts'
import type { Delegate } from '../membership/delegate.ts'
import { SwimNode } from '../membership/swim-node.ts'
import type { LogFn, MemberInfo, MemberState, SwimStats } from '../membership/types.ts'

export type { MemberInfo, MemberState }

export interface MembershipOptions {
  name: string
  /** "host:port" for UDP and TCP; port 0 picks a free one. */
  bind: string
  advertise?: string
  /** Seeds that must answer: startMembership rejects if none does within joinTimeoutMs. */
  join: string[]
  /** Seeds retried in the background every retryIntervalMs until one answers. */
  retryJoin: string[]
  joinTimeoutMs: number
  retryIntervalMs: number
  profile: ProfileName
  /** Knobs that override the profile's (see config.ts); for experiments and benchmarks. */
  overrides?: Partial<SwimConfig>
  /** base64 AES-256 keys; the first is the primary (encrypts), all decrypt. */
  keys?: string[]
  meta: Record<string, string>
  delegate?: Delegate
  metrics: Registry
  log: LogFn
}

export interface MembershipHandle {
  readonly name: string
  /** The advertised address. */
  readonly addr: string
  members(): MemberInfo[]
  on(event: 'change', fn: (m: MemberInfo, prev?: string) => void): void
  localHealthScore(): number
  /** How the last push/pull peer saw this node (SwimState.peerViewOfSelf). */
  peerViewOfSelf(): MemberState | undefined
  userRequest(toName: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array>
  leave(timeoutMs: number): Promise<void>
  shutdown(): Promise<void>
}

/** Stats that feed the registry as they change. */
function meteredStats(metrics: Registry): SwimStats {
  const bytes = metrics.counter('heck_gossip_bytes_total', 'Membership bytes sent and received, by direction.')
  const dropped = metrics.counter('heck_packets_dropped_total', 'Membership packets and messages dropped, by reason.')
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

export async function startMembership(opts: MembershipOptions): Promise<MembershipHandle> {
  const config = profile(opts.profile, opts.overrides)
  const keyring = opts.keys && opts.keys.length > 0 ? Keyring.fromBase64(opts.keys) : undefined
  const codec = new SwimCodec(keyring, { maxMetaBytes: config.metaMaxBytes })
  const transport = await UdpTransport.start({
    bind: opts.bind,
    advertise: opts.advertise,
    maxFrameBytes: codec.limits.maxFrameBytes,
    serveTimeoutMs: config.streamTimeoutMs * 2,
  })
  let node: SwimNode
  try {
    node = new SwimNode({
      name: opts.name,
      config,
      clock: realClock,
      rng: randomRng(),
      transport,
      codec,
      meta: opts.meta,
      delegate: opts.delegate,
      log: opts.log,
      stats: meteredStats(opts.metrics),
    })
  } catch (e) {
    await transport.close()
    throw e
  }
  const gauge = opts.metrics.gauge('heck_members', 'Members by state, as this node sees them (itself included).')
  gauge.collect(() => {
    const counts: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 }
    for (const m of node.list()) counts[m.state]++
    return Object.entries(counts).map(([state, v]) => [{ state }, v])
  })
  node.onChange((m, prev) => opts.log('info', `member ${m.name} ${prev ?? 'new'} -> ${m.state}`, { member: m.name, addr: m.addr, state: m.state, prev }))
  node.start()
  opts.log('info', 'membership started', { name: opts.name, addr: transport.localAddr, profile: opts.profile, encrypted: !!keyring })

  let stopped = false
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  const shutdown = async () => {
    if (stopped) return
    stopped = true
    clearTimeout(retryTimer)
    node.stop()
    await transport.close()
  }

  if (opts.join.length > 0) {
    const ok = await node.join(opts.join, opts.joinTimeoutMs)
    if (ok === 0) {
      await shutdown()
      throw new Error(
        `could not join the cluster: none of ${opts.join.join(', ')} answered within ${opts.joinTimeoutMs} ms ` +
          `(unreachable, not a heck agent, or a different --encrypt key)`,
      )
    }
    opts.log('info', 'joined', { seeds: opts.join, answered: ok })
  }
  if (opts.retryJoin.length > 0) {
    const retry = async () => {
      if (stopped) return
      const ok = await node.join(opts.retryJoin, opts.joinTimeoutMs)
      if (ok > 0) return opts.log('info', 'joined (retry-join)', { seeds: opts.retryJoin, answered: ok })
      opts.log('warn', 'retry-join: no seed answered; retrying', { seeds: opts.retryJoin, inMs: opts.retryIntervalMs })
      retryTimer = setTimeout(retry, opts.retryIntervalMs)
    }
    void retry()
  }

  return {
    name: opts.name,
    addr: transport.localAddr,
    members: () => node.list(),
    on: (_event, fn) => node.onChange(fn),
    localHealthScore: () => node.health,
    peerViewOfSelf: () => node.peerViewOfSelf,
    userRequest: (to, payload, timeoutMs) => node.userRequest(to, payload, timeoutMs),
    leave: async (timeoutMs) => {
      if (stopped) return
      await node.leave(timeoutMs)
      opts.log('info', 'left the cluster', {})
    },
    shutdown,
  }
}
