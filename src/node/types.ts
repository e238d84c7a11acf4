/**
 * The views one node offers of the cluster, shared by the HTTP API, the CLI and
 * the TUI. They are plain JSON-ready objects: the API serialises them as they are.
 */
import type { CheckResult, Status, Target } from '../config/types.ts'
import type { MemberState } from '../membership/types.ts'

export interface TargetHealth {
  id: string
  status: Status
  /** Wall-clock ms of the last status change (or of first sight, for `unknown`). */
  since: number
  /** The node that checks it now (its first live owner), or null when unknown. */
  owner: string | null
  last: CheckResult | null
  /** Present while the target is flapping (its notifications are held; SPEC.md "Alerts"). */
  flapping?: true
  /** confirm: N — the last time other nodes were asked, who saw what. */
  confirmation?: { at: number; saw: Record<string, string>; outcome: string }
}

export interface TargetDetail extends TargetHealth {
  /** The internal form, secrets included; the API shows it as publicForm(definition) (config/target-form.ts). */
  definition: Target
  owners: string[]
  recent: CheckResult[]
  transitions: Array<{ at: number; from: Status; to: Status }>
  uptime?: { h1: number | null; h24: number | null; d7: number | null }
  /** Present when --data-dir is set but its history could not be read for this answer; `history_error` says why. */
  history?: 'unavailable'
  history_error?: string
  /** Some part of the story is missing (a member did not answer, a history could not be read); the reasons say which. */
  partial?: true
  partial_reasons?: string[]
}

// One definition of member states, membership's: the views pass them on as SWIM reports them.
export type { MemberState }

export interface MemberView {
  name: string
  addr: string
  state: MemberState
  incarnation: number
  /** Targets this member owns (is first live owner of), as this node computes it. */
  owned: number
  /** Lifeguard local health score (0 = healthy .. 8), where known. */
  health?: number
  meta?: Record<string, string>
}

export type NodeEvent =
  | { type: 'health'; id: string; status: Status; previous: Status; since: number; checker: string; error?: string }
  | { type: 'member'; name: string; state: MemberState; previous?: MemberState; addr: string }
  | { type: 'target'; id: string; action: 'added' | 'updated' | 'removed' }
  /** confirm: N — the owner saw a failure the other nodes asked did not: seen from one place only. */
  | { type: 'confirmation'; id: string; outcome: string; saw: Record<string, string> }
