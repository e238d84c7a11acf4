/**
 * The TUI's own picture of the cluster, filled by the client (client.ts) from
 * the agent's HTTP API and event stream, and turned into lines by the pure
 * view-model (view-model.ts). Every field the API may not serve yet (owner,
 * members before membership lands) is nullable and renders as "-".
 */

export interface TuiTarget {
  id: string
  /** healthy | unhealthy | unknown, or whatever a newer agent reports. */
  status: string
  /** Wall-clock ms of the last status change. */
  since: number | null
  owner: string | null
  latencyMs: number | null
  lastError: string | null
  checkedAt: number | null
}

export interface TuiMember {
  name: string
  addr: string | null
  /** alive | suspect | dead | left. */
  state: string
  incarnation: number | null
  owned: number | null
  /** Lifeguard local health score, where known. */
  health: number | null
}

export interface TuiEvent {
  /** Wall-clock ms when the TUI received it. */
  at: number
  kind: 'health' | 'member' | 'target' | 'info' | 'error'
  /** Status or member state it moved to, for colouring. */
  state?: string
  text: string
}

export interface TuiResult {
  ok: boolean
  latencyMs: number | null
  statusCode: number | null
  error: string | null
  checkedAt: number | null
  checker: string | null
}

export interface TuiDetail {
  id: string
  status: string
  since: number | null
  owners: string[] | null
  /** The owner checking it now (the first live one), when the agent says. */
  owner: string | null
  /** Oldest first. */
  recent: TuiResult[]
  transitions: Array<{ at: number; from: string; to: string }>
  check: string | null
  /** Share of checks that passed over 1h, 24h and 7d (all checkers together), when the agent keeps history. */
  uptime: { h1: number | null; h24: number | null; d7: number | null } | null
  /** Why the answer is incomplete (a member did not answer), when it is. */
  partial: string[] | null
  /** Flapping now (notifications held). */
  flapping?: boolean
  /** confirm: N — the last time other nodes were asked: who saw what. */
  confirmation?: { outcome: string; saw: Record<string, string> } | null
}

export interface TuiState {
  /** Base URL of the agent this TUI talks to. */
  source: string
  node: string | null
  connected: boolean
  lastError: string | null
  /** Wall-clock ms of the newest observation the agent holds, derived from data_age_ms. */
  newestDataAt: number | null
  members: TuiMember[] | null
  targets: Map<string, TuiTarget>
  events: TuiEvent[]
  checksPerSec: number | null
  gossipBytesPerSec: number | null
  detail: TuiDetail | null
  /** Bumped on every change to targets, so derived lists know when to recompute. */
  targetsVersion: number
}

export function emptyState(source: string): TuiState {
  return {
    source,
    node: null,
    connected: false,
    lastError: null,
    newestDataAt: null,
    members: null,
    targets: new Map(),
    events: [],
    checksPerSec: null,
    gossipBytesPerSec: null,
    detail: null,
    targetsVersion: 0,
  }
}

/** Events kept for the log; older ones are dropped. */
export const MAX_EVENTS = 500
