/**
 * What a running farm offers (its handle, its counters), apart from how it serves:
 * the admin routes (admin.ts) and the tests read these, and farm.ts implements them.
 */
import type { NodeCount } from './counters.ts'
import type { ModeSpec } from './modes.ts'
import type { TargetsFileOptions } from './targets-yaml.ts'

export interface StatsQuery {
  /** Only totals and per-node counts (cheap, for benchmarks polling 10,000 endpoints). */
  summary?: boolean
  /** Only this endpoint, with its recent arrivals. */
  target?: string
}

export interface TargetStats {
  count: number
  /** Wall-clock ms of the last check (0 = never) and the node that ran it. */
  last: number
  lastNode: string
  nodes: Record<string, NodeCount>
  mode?: ModeSpec
  recent?: Array<{ at: number; node: string }>
}

export interface FarmStats {
  total: number
  /** When counting started (start or last counter reset), and now; wall-clock ms. */
  startedAt: number
  now: number
  count: number
  /** Requests held right now by slow or hanging endpoints. */
  waiting: number
  byNode: Record<string, number>
  byTarget?: Record<string, number>
  targets?: Record<string, TargetStats>
}

export interface Farm {
  readonly port: number
  readonly host: string
  /** Base URL that clients use (a wildcard host becomes loopback). */
  readonly url: string
  readonly count: number
  stop(): Promise<void>
  stats(q?: StatsQuery): FarmStats
  setMode(ids: string | string[], spec: ModeSpec): void
  mode(id: string): ModeSpec | undefined
  reset(what?: 'all' | 'modes' | 'counters'): void
  targetsYaml(o?: Partial<TargetsFileOptions>): string
}
