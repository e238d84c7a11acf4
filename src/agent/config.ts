/**
 * The settings of one agent, as the assembly takes them: what the CLI reads from
 * flags (and, later, a config file), free of how they were written. Knobs that
 * the CLI does not expose have documented defaults here, and the simulator sets
 * them directly.
 */
import type { ProfileName, SwimConfig } from '../membership/config.ts'

/** `--store etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`: consensus through etcd instead of gossip. */
export interface EtcdStoreConfig {
  kind: 'etcd'
  endpoints: string[]
  /** Key prefix, ending in "/" (default "/heck/"). */
  prefix: string
  /** See EtcdStoreOptions.leaseTtlMs (etcd/etcd-store.ts). */
  leaseTtlMs: number
}

export interface AgentConfig {
  /** Unique node name. */
  name: string
  /** The HTTP API address peers and clients are told ("host:port"), carried in membership metadata. */
  httpAddr: string
  /** SWIM and gossip timing preset. */
  profile: ProfileName
  /** base64 AES-256 gossip keys; the first encrypts, all decrypt. Empty: gossip in clear. */
  keys: string[]
  /**
   * A label every gossip envelope carries and every receiver checks (memberlist's label):
   * two clusters on one network never merge by accident. Not a secret; `--encrypt` is
   * what authenticates. '' (the default) = none.
   */
  clusterName?: string
  /** Seeds that must answer at start-up (`--join`). */
  join: string[]
  /** Seeds retried in the background (`--retry-join`). */
  retryJoin: string[]
  /** How long (ms) a join may take before `--join` fails, or `--retry-join` stops holding back the targets. */
  joinTimeoutMs: number
  /** How often (ms) `--retry-join` seeds are tried again. */
  retryIntervalMs: number
  /** Bearer token for write endpoints; without it, writes are loopback-only. */
  apiToken?: string
  /** Bearer token for reads (--api-read-token); without it, reads are open. See ApiDeps.apiReadToken. */
  apiReadToken?: string
  /** Checks in flight at once across all targets. */
  maxConcurrentChecks: number
  /** Where the cluster's membership and state live: gossip (the default, when absent) or etcd. */
  store?: EtcdStoreConfig
  /**
   * See AssignmentOptions.joinSettleMs (ownership/assignment.ts). Longer merges more
   * joins into one move; shorter hands a newcomer its share sooner. Default 3000.
   */
  joinSettleMs?: number
  /** See GossipSettings (gossip/gossip-store.ts): saving, pruning and sync timeouts, SWIM overrides. */
  persistEveryMs?: number
  pruneEveryMs?: number
  syncTimeoutMs?: number
  swimOverrides?: Partial<SwimConfig>
  /** See ResultOptions.lastResultRefreshMs (node/results.ts). */
  lastResultRefreshMs?: number
  /** See NodeOptions.checkCoalesceMaxMs (node/node.ts). */
  checkCoalesceMaxMs?: number
}

/** See AgentConfig.joinSettleMs. */
export const JOIN_SETTLE_MS = 3000
