/**
 * What the HTTP API needs from a node. createApp(deps) builds routes on this
 * interface alone, so tests drive it with `app.request()` and plain objects,
 * and the app never opens a socket itself (docs/ARCHITECTURE.md "The shape").
 */
import type { Target } from '../config/types.ts'
import type { Heartbeat } from '../node/push-ledger.ts'
import type { Silence } from '../alerts/silence.ts'
import type { Clock } from '../seams/clock.ts'
import type { Registry } from '../metrics/registry.ts'
import type { HistoryPart } from '../node/story.ts'
import type { MemberView, NodeEvent, TargetDetail, TargetHealth } from '../node/types.ts'

export interface ApiDeps {
  /** This node's name; every answer says which node gave it. */
  node: string
  version: string
  /** When set, write endpoints require `Authorization: Bearer <token>`; when unset, they answer on loopback only. */
  apiToken?: string
  /**
   * When set (--api-read-token), every endpoint but `GET /healthz` needs `Authorization:
   * Bearer <this or apiToken>`; the write token still grants everything. Unset: reads are open.
   */
  apiReadToken?: string
  metrics: Registry
  health(): TargetHealth[]
  target(id: string): TargetDetail | undefined
  /** The whole story of a target, from every member that checked it (node/story.ts); `target` when absent. */
  story?(id: string): Promise<TargetDetail | undefined>
  /** This node's own part of a target's story, for a peer's `story` (GET /v1/targets/:id/part). */
  part?(id: string): HistoryPart | undefined
  /** Adds or replaces a target cluster-wide; resolves true when it replaced one. */
  putTarget(t: Target): Promise<boolean>
  /** Removes a target cluster-wide; false when there was none. */
  deleteTarget(id: string): Promise<boolean>
  members(): MemberView[]
  owners(id: string): string[]
  /** Node name → target ids it owns (checks). */
  ownershipMap(): Record<string, string[]>
  /** Wall-clock ms of the newest observation this node holds, or null before the first. */
  newestObservationAt(): number | null
  /** May throw SubscriberLimitError (src/node/event-bus.ts); GET /v1/events answers that with 503. */
  subscribe(fn: (e: NodeEvent) => void): () => void
  /**
   * Open `GET /v1/events` streams allowed at once (--max-event-streams); the next client gets
   * 503 with Retry-After. Each stream holds a subscriber and up to 10,000 queued events, so
   * this bounds the memory clients can pin; higher serves more dashboards. Default 256.
   */
  maxEventStreams?: number
  /** Starts a graceful leave; the agent exits once it is done. */
  leave(): void
  /** The cluster store's state for GET /healthz (etcd reachable, this node a member). */
  store?(): { kind: string; ok: boolean; detail: string }
  /** Conditions an operator should fix (e.g. unauthenticated gossip), listed by GET /healthz; the agent still runs. */
  warnings?(): string[]
  /**
   * Hands a push heartbeat to the target's owners (node/push-router.ts); resolves with the
   * member that took it. `forwarded`: another member sent it (keep it, do not pass it on).
   */
  push?(id: string, beat: Heartbeat, o: { forwarded: boolean; bearer?: string }): Promise<string>
  /** Whether `given` is the target's push token (a reference is read on this node). */
  pushTokenMatches?(t: Target, given: string): Promise<boolean>
  /** Probes a target once, now, for another node's confirmation (POST /v1/targets/:id/probe); undefined: no such target. */
  probeOnce?(id: string): Promise<{ ok: boolean; latencyMs: number; error?: string; statusCode?: number } | undefined>
  /** Silences in force (alerts/silence.ts); `putSilence` and `deleteSilence` write cluster-wide, durable as target writes. */
  silences?(): Silence[]
  putSilence?(s: Silence): Promise<void>
  /** A fresh id for a silence given without one (from the node's Rng, so simulations replay). */
  newSilenceId?(): string
  deleteSilence?(id: string): Promise<boolean>
  /** Wall time for data ages and timers for SSE keep-alives; a SimClock in tests. */
  clock: Clock
}
