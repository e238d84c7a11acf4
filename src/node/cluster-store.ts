/**
 * The store seam: where a node's view of the cluster lives. A ClusterStore is the
 * pair a HeckNode runs on, membership (ClusterView: who is in the cluster, in what
 * state) and the shared state (StateStore: the target registry and the health
 * map), plus its lifecycle. Two ways to make every node agree, as the seed post
 * asks for both:
 * - gossip (src/gossip): SWIM membership and delta-CRDT state, partial order and no
 *   coordination (Das et al. 2002; Almeida, Shoker & Baquero 2018);
 * - consensus (src/etcd): leases and keys in an etcd cluster, a total order by Raft.
 * Everything above the store (ownership, the poller, the API, the TUI) is the same
 * in both. The agent assembly (src/agent) picks one from `--store`.
 */
import type { ClusterView } from './cluster-view.ts'
import type { StateStore } from './state-store.ts'

/** How the store is doing, for GET /healthz: `ok` false says what is wrong in `detail`. */
export interface StoreStatus {
  kind: 'gossip' | 'etcd'
  ok: boolean
  detail: string
}

export interface ClusterStore {
  /** Which implementation: `gossip` or `etcd`. */
  readonly kind: 'gossip' | 'etcd'
  /** Membership as this node sees it. */
  readonly cluster: ClusterView
  /** The target registry and the health map. */
  readonly state: StateStore
  /** Where peers (gossip) or this node (etcd) reach the store, for the start-up log line. */
  readonly addr: string
  /**
   * Starts membership and joins. Rejects only when the node cannot run at all (for
   * gossip: none of the `--join` seeds answered in time); seeds given with
   * `--retry-join` are retried in the background instead.
   */
  start(): Promise<void>
  /**
   * Resolves once this node has met its peers, or when joining cannot matter (no
   * seeds, or the join timeout passed). A node that checked every target before
   * meeting its peers would check what they own: a storm at start-up.
   */
  readonly joined: Promise<void>
  /** Graceful: peers record this node as `left` (not dead) and take over at once; then closes. */
  leave(timeoutMs: number): Promise<void>
  /** Stops at once, saying nothing to peers (they detect it); releases what it holds. */
  close(): Promise<void>
  /** For GET /healthz; a store without one is taken as fine. */
  status?(): StoreStatus
}
