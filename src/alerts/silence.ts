/**
 * Silences, as Alertmanager has them: a target id or a set of label matches, an end
 * time and a reason. A silenced target is still checked and shown; only its
 * notifications are not sent. Silences are replicated cluster-wide like the registry,
 * and an expired one is removed by whichever node owns it (its id hashes like a target's).
 * Validation reports every problem with the field and the fix, as the targets file does.
 */
import { parseDuration } from '../config/duration.ts'

export interface Silence {
  /** [A-Za-z0-9._-]{1,128}; generated when not given. */
  id: string
  /** What it matches: a target id, or labels that must all be equal (at least one of the two). */
  match: { target?: string; labels?: Record<string, string> }
  /** Wall-clock ms when it ends. */
  until: number
  reason: string
  /** Wall-clock ms when it was made, and by which node. */
  createdAt: number
  createdBy: string
}

const ID = /^[A-Za-z0-9._-]{1,128}$/
const LABEL = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/
/** Longest a silence may last: a forgotten one must not hide an outage for ever. */
export const MAX_SILENCE_MS = 90 * 24 * 3_600_000

export class SilenceError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '))
    this.name = 'SilenceError'
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * A silence from `POST /v1/silences`: `{target?, labels?, until | duration, reason, id?}`.
 * `until` is an RFC 3339 time or epoch ms, `duration` a duration string ("2h").
 */
export function parseSilence(raw: unknown, nowMs: number, node: string, newId: () => string): Silence {
  const p: string[] = []
  if (!isObj(raw)) throw new SilenceError(['body: must be a JSON object with "target" or "labels", "until" or "duration", and "reason"'])
  for (const k of Object.keys(raw)) if (!['id', 'target', 'labels', 'until', 'duration', 'reason'].includes(k)) p.push(`${k}: unknown field (allowed: id, target, labels, until, duration, reason)`)
  const id = raw.id === undefined ? newId() : raw.id
  if (typeof id !== 'string' || !ID.test(id)) p.push(`id: must be 1-128 characters of A-Z a-z 0-9 . _ -, got ${JSON.stringify(raw.id)}`)
  const match: Silence['match'] = {}
  if (raw.target !== undefined) {
    if (typeof raw.target !== 'string' || !ID.test(raw.target)) p.push(`target: must be a target id, got ${JSON.stringify(raw.target)}`)
    else match.target = raw.target
  }
  if (raw.labels !== undefined) {
    if (!isObj(raw.labels) || Object.keys(raw.labels).length === 0) p.push('labels: must be a non-empty map of label name to value')
    else {
      const labels: Record<string, string> = {}
      for (const [k, v] of Object.entries(raw.labels)) {
        if (!LABEL.test(k)) p.push(`labels.${k}: not a valid label name ([A-Za-z_][A-Za-z0-9_]*)`)
        else if (typeof v !== 'string') p.push(`labels.${k}: must be a string`)
        else labels[k] = v
      }
      match.labels = labels
    }
  }
  if (match.target === undefined && match.labels === undefined && !p.some((x) => x.startsWith('target') || x.startsWith('labels'))) {
    p.push('target or labels: say what to silence (a target id, or labels that must all match)')
  }
  let until: number | undefined
  if (raw.until !== undefined && raw.duration !== undefined) p.push('until, duration: give one of them, not both')
  else if (raw.until !== undefined) {
    until = typeof raw.until === 'number' ? raw.until : typeof raw.until === 'string' ? Date.parse(raw.until) : NaN
    if (!Number.isFinite(until)) p.push(`until: must be an RFC 3339 time ("2026-12-03T18:00:00Z") or epoch ms, got ${JSON.stringify(raw.until)}`)
  } else if (raw.duration !== undefined) {
    const d = parseDuration(raw.duration)
    if (typeof d === 'number') until = nowMs + d
    else p.push(`duration: ${d.error}`)
  } else p.push('until or duration: say when the silence ends ("until": an RFC 3339 time, or "duration": "2h")')
  if (until !== undefined && Number.isFinite(until)) {
    if (until <= nowMs) p.push('until: is already past; a silence must end in the future')
    else if (until - nowMs > MAX_SILENCE_MS) p.push('until: at most 90 days ahead (a forgotten silence must not hide outages for ever)')
  }
  if (typeof raw.reason !== 'string' || raw.reason.trim() === '' || raw.reason.length > 1024) p.push('reason: say why, in 1-1024 characters (it is shown with the silence)')
  if (p.length > 0) throw new SilenceError(p)
  return { id: id as string, match, until: until as number, reason: raw.reason as string, createdAt: nowMs, createdBy: node }
}

/** Checks a silence read from a peer or a store; undefined when it is not one. */
export function asSilence(v: unknown): Silence | undefined {
  if (!isObj(v) || typeof v.id !== 'string' || !ID.test(v.id) || !isObj(v.match)) return undefined
  if (typeof v.until !== 'number' || typeof v.reason !== 'string' || typeof v.createdAt !== 'number' || typeof v.createdBy !== 'string') return undefined
  const m = v.match
  if (m.target !== undefined && typeof m.target !== 'string') return undefined
  if (m.labels !== undefined && (!isObj(m.labels) || !Object.values(m.labels).every((x) => typeof x === 'string'))) return undefined
  if (m.target === undefined && m.labels === undefined) return undefined
  return v as unknown as Silence
}

/** True when `s` is in force at `nowMs` and matches the target. */
export function silences(s: Silence, target: { id: string; labels?: Record<string, string> }, nowMs: number): boolean {
  if (s.until <= nowMs) return false
  if (s.match.target !== undefined && s.match.target !== target.id) return false
  if (s.match.labels) for (const [k, v] of Object.entries(s.match.labels)) if (target.labels?.[k] !== v) return false
  return true
}
