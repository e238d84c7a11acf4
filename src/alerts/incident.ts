/**
 * Incidents: every time a target turns unhealthy an incident starts, with an id that
 * stays the same whichever node reports it, and it ends when the target is healthy
 * again. The incident travels in the target's replicated health record with what has
 * been sent for it (`sentDown`, `sentResolved`), so exactly one "down" and one
 * "resolved" go out per incident: only the target's owner sends, and a new owner
 * (after a crash, a restart, a rebalance) sends only what the record says is still
 * owed. Gatus users report two replicas sending every alert twice (#421); Uptime Kuma
 * users ask for "notify once" across instances (#3164). In a partition each side has
 * an owner and may send once (SPEC.md "Alerts"). Pure.
 */
import type { Status } from '../config/types.ts'

export interface Incident {
  /** `<target>~<start, base 36 ms>`: stable for the incident's life. */
  id: string
  startedAt: number
  /** Set when the target is healthy again. */
  endedAt?: number
  /** Wall-clock ms the down / resolved notification was delivered, and by which node. */
  sentDown?: number
  sentResolved?: number
  sentBy?: string
  /** The error the down notification carries. */
  error?: string
  /** The nodes that saw the failure (confirmation); absent with confirm: 1. */
  confirmedBy?: string[]
}

/** The incident after a status change from `from` to `to` at `nowMs`. */
export function nextIncident(prev: Incident | undefined, target: string, from: Status, to: Status, nowMs: number, error?: string, confirmedBy?: string[]): Incident | undefined {
  if (to === 'unhealthy' && from !== 'unhealthy') {
    return { id: `${target}~${Math.floor(nowMs).toString(36)}`, startedAt: nowMs, ...(error ? { error } : {}), ...(confirmedBy ? { confirmedBy } : {}) }
  }
  if (to === 'healthy' && from === 'unhealthy' && prev && prev.endedAt === undefined) return { ...prev, endedAt: nowMs }
  return prev
}

/**
 * What is owed for an incident now: `down` until it is sent (unless the incident is
 * already over: a down that was never sent needs no resolved), then `resolved` once it
 * ended. `held` (silenced, flapping) owes nothing until it is lifted.
 */
export function owed(i: Incident | undefined, held: boolean): 'down' | 'resolved' | undefined {
  if (!i || held) return undefined
  if (i.sentDown === undefined) return i.endedAt === undefined ? 'down' : undefined
  if (i.endedAt !== undefined && i.sentResolved === undefined) return 'resolved'
  return undefined
}

/** The incident once `kind` was delivered by `node` at `nowMs`. */
export function markSent(i: Incident, kind: 'down' | 'resolved', node: string, nowMs: number): Incident {
  return kind === 'down' ? { ...i, sentDown: nowMs, sentBy: node } : { ...i, sentResolved: nowMs, sentBy: node }
}

const opt = (v: unknown, t: string) => v === undefined || typeof v === t

/** Checks an incident read from a peer or a store; undefined when it is not one. */
export function asIncident(v: unknown): Incident | undefined {
  if (typeof v !== 'object' || v === null) return undefined
  const o = v as Record<string, unknown>
  if (typeof o.id !== 'string' || o.id.length > 300 || typeof o.startedAt !== 'number') return undefined
  if (!opt(o.endedAt, 'number') || !opt(o.sentDown, 'number') || !opt(o.sentResolved, 'number') || !opt(o.sentBy, 'string') || !opt(o.error, 'string')) return undefined
  if (o.confirmedBy !== undefined && (!Array.isArray(o.confirmedBy) || !o.confirmedBy.every((x) => typeof x === 'string'))) return undefined
  return o as unknown as Incident
}
