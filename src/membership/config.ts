/**
 * Membership knobs and the named profiles `lan`, `local` and `wan`, modelled on
 * hashicorp/memberlist's DefaultLANConfig / DefaultLocalConfig / DefaultWANConfig
 * with Lifeguard's parameters (Dadgar et al. 2017). Every knob states its unit,
 * its default per profile and the tradeoff it controls.
 */

export type ProfileName = 'lan' | 'local' | 'wan'

export interface SwimConfig {
  /**
   * Time between probe rounds (ms); scaled by local health (score + 1).
   * lan 1000, local 200, wan 5000. Shorter detects failures sooner but costs more packets.
   */
  probeIntervalMs: number
  /**
   * How long to wait for a direct ack before asking others (ms); scaled by local health.
   * Helpers wait as long before they nack. lan 300 (memberlist 500), local 100, wan 3000.
   * Too short for the network's RTT gives needless indirect probes; a suspicion still
   * needs the helpers and the TCP ping to fail as well.
   */
  probeTimeoutMs: number
  /**
   * How probe targets are chosen. `ring` (all profiles): ticks aligned to shared
   * wall-clock rounds and a rotating ring over the sorted live members, so every member
   * is probed once per round and a crash is first probed within one interval
   * (probe-schedule.ts). `shuffle`: SWIM's per-node shuffled round robin, where the first
   * probe of a crashed member comes after about one interval on average and a tail of
   * several. `ring` needs clocks within a fraction of an interval of each other (NTP);
   * without that it degrades to about `shuffle`.
   */
  probeSchedule: 'ring' | 'shuffle'
  /**
   * Members asked to probe indirectly (ping-req) after a direct probe fails (k in SWIM).
   * lan 3, local 2, wan 3. More helpers tolerate more path loss but add load.
   */
  indirectChecks: number
  /**
   * Lifeguard α: the minimum suspicion timeout is α × max(1, log10 n) × probeIntervalMs.
   * lan 1, local 3, wan 6 (memberlist uses 4 on LAN). Larger means fewer false positives
   * and slower detection. heck's lan goes this low because the minimum is only reached
   * after `suspicionConfirmations` independent members have failed to reach the suspect
   * (each with a direct, k indirect and a TCP ping; gathered within a period by
   * out-of-turn confirmation probes); an unconfirmed suspicion still waits 6 × min.
   * The price: a node frozen longer than about min + one probe is declared dead and must
   * refute when it wakes. Simulator, one of 30 nodes frozen 1–4 s at a time for 82 s of
   * 120: marked dead 58 (α 1.5), 167 (1.25), 312 (1) observer×member times; healthy
   * nodes wrongly marked dead: 0 at each (docs/BENCHMARKS.md, Membership).
   */
  suspicionMult: number
  /**
   * The suspicion timeout starts at this multiple of its minimum (Lifeguard's max = 6 × min).
   * lan 6, local 6, wan 6. Larger gives a wrongly suspected node more time to refute.
   */
  suspicionMaxTimeoutMult: number
  /**
   * Independent confirmations that shrink the suspicion timeout to its minimum (Lifeguard's
   * k, α − 2 in memberlist). lan 3, local 1, wan 4. Fewer reaches the minimum sooner; more
   * needs more witnesses before a member is declared dead quickly.
   */
  suspicionConfirmations: number
  /**
   * Retransmit limit multiplier: each broadcast is sent mult × ⌈log10(n + 1)⌉ times.
   * lan 4, local 4, wan 4. Higher makes delivery more certain at more bytes per packet.
   * (memberlist's local uses 2; with 5 nodes that left a joiner unknown to a peer until
   * the next push/pull about one run in four here, so local keeps lan's 4.)
   */
  retransmitMult: number
  /**
   * Time between gossip rounds that push pending broadcasts (ms).
   * lan 200, local 50, wan 500. Shorter spreads news faster with more packets.
   */
  gossipIntervalMs: number
  /**
   * Urgent news (a suspicion, a death, a leave, this node's own alive or refutation, and
   * whatever the delegate flags, such as a target's status change) does not wait for the
   * next gossip round: an extra round runs this long after it (ms), batching what arrives
   * meanwhile, and at most one extra round per quarter gossip interval. A receiver that
   * learns the news first does the same, so it crosses the cluster in a few network hops
   * instead of a few gossip intervals. lan 5, local 2, wan 20; -1 turns it off (memberlist's
   * behaviour). Shorter is faster; more extra rounds cost packets only while news is fresh.
   */
  urgentGossipDelayMs: number
  /**
   * While broadcasts back up, a gossip round may reach gossipNodes × this many members,
   * one packet each (memberlist: gossipNodes, one packet each). Beyond the first
   * gossipNodes, a member gets a packet only while the previous one came out nearly full.
   * lan 4, local 4, wan 2. One packet per member caps a node at gossipNodes × 1000 /
   * gossipIntervalMs packets/s (15 on lan); by our estimate the replicated state of 16
   * agents × 10,000 targets needs about 40 (refreshes and takeovers, 8 sends per delta per
   * node), and the overflow became causal gaps. More drains a backlog faster; it costs
   * nothing while the queue is short.
   */
  gossipPacketsPerNode: number
  /** Members sent to per gossip round. lan 3, local 3, wan 4. More fan-out spreads faster. */
  gossipNodes: number
  /**
   * How long dead and left members still get gossip, so they can learn and refute (ms).
   * lan 30000, local 5000, wan 60000. Longer helps a wrongly killed node return, at some waste.
   */
  gossipToTheDeadMs: number
  /**
   * Full-state TCP push/pull period (ms), scaled up above 32 members; 0 disables.
   * lan 30000, local 5000, wan 60000. Shorter repairs divergence sooner, costing bandwidth.
   */
  pushPullIntervalMs: number
  /**
   * Dead and left members are forgotten after this long (ms).
   * lan 3600000, local 60000, wan 3600000. Longer keeps history visible; shorter frees memory.
   */
  reapAfterMs: number
  /**
   * Upper bound of the Lifeguard local-health score; timeouts scale by (score + 1).
   * All profiles 8. Higher lets an overloaded node back off further.
   */
  awarenessMaxMultiplier: number
  /**
   * Try a TCP ping when UDP probes fail (memberlist's fallback for UDP-blocked paths).
   * All profiles true. Costs a connection per failed probe.
   */
  tcpFallbackPing: boolean
  /** Timeout of a stream exchange (push/pull, TCP ping, user request) (ms). lan 10000, local 1000, wan 30000. */
  streamTimeoutMs: number
  /**
   * Datagram budget including encryption overhead (bytes). All profiles 1400: stays under
   * a 1500-byte MTU; larger packets risk silent drops on real networks.
   */
  packetLimitBytes: number
  /** Encoded node metadata limit (bytes). All profiles 512: metadata rides every alive message. */
  metaMaxBytes: number
}

const common = {
  probeSchedule: 'ring',
  awarenessMaxMultiplier: 8,
  tcpFallbackPing: true,
  packetLimitBytes: 1400,
  metaMaxBytes: 512,
} as const

export const PROFILES: Record<ProfileName, SwimConfig> = {
  lan: {
    ...common,
    probeIntervalMs: 1000,
    probeTimeoutMs: 300,
    indirectChecks: 3,
    suspicionMult: 1,
    suspicionMaxTimeoutMult: 6,
    suspicionConfirmations: 3,
    retransmitMult: 4,
    gossipIntervalMs: 200,
    urgentGossipDelayMs: 5,
    gossipNodes: 3,
    gossipPacketsPerNode: 4,
    gossipToTheDeadMs: 30_000,
    pushPullIntervalMs: 30_000,
    reapAfterMs: 3_600_000,
    streamTimeoutMs: 10_000,
  },
  local: {
    ...common,
    probeIntervalMs: 200,
    probeTimeoutMs: 100,
    indirectChecks: 2,
    suspicionMult: 3,
    suspicionMaxTimeoutMult: 6,
    suspicionConfirmations: 1,
    retransmitMult: 4,
    gossipIntervalMs: 50,
    urgentGossipDelayMs: 2,
    gossipNodes: 3,
    gossipPacketsPerNode: 4,
    gossipToTheDeadMs: 5_000,
    pushPullIntervalMs: 5_000,
    reapAfterMs: 60_000,
    streamTimeoutMs: 1_000,
  },
  wan: {
    ...common,
    probeIntervalMs: 5000,
    probeTimeoutMs: 3000,
    indirectChecks: 3,
    suspicionMult: 6,
    suspicionMaxTimeoutMult: 6,
    suspicionConfirmations: 4,
    retransmitMult: 4,
    gossipIntervalMs: 500,
    urgentGossipDelayMs: 20,
    gossipNodes: 4,
    gossipPacketsPerNode: 2,
    gossipToTheDeadMs: 60_000,
    pushPullIntervalMs: 60_000,
    reapAfterMs: 3_600_000,
    streamTimeoutMs: 30_000,
  },
}

export function profile(name: ProfileName, overrides: Partial<SwimConfig> = {}): SwimConfig {
  return { ...PROFILES[name], ...overrides }
}
