/**
 * `push: {grace, token}`: a target that is not polled but reports in, a dead man's
 * switch as Healthchecks.io, Uptime Kuma's push monitors and Consul's TTL checks
 * offer (SPEC.md "Push heartbeats"). The owner evaluates the deadline every
 * PUSH_EVAL_MS with thresholds of 1, so a missed deadline shows within `grace` plus
 * about a second, and one push after it counts at once.
 */
import { parseDuration } from './duration.ts'
import { reference, type Add } from './header-fields.ts'
import { REDACTED } from './secrets.ts'
import type { PushCheck } from './types.ts'

/** How often (ms) the owner of a push target looks at its deadline. */
export const PUSH_EVAL_MS = 1000
/** Longest grace: a week, so a weekly job fits; longer is more likely a typo. */
const MAX_GRACE_MS = 7 * 24 * 3_600_000
/** Fields that only polled targets take: a push target with one of them is a mistake worth naming. */
export const POLL_FIELDS = ['interval', 'timeout', 'rise', 'fall', 'method', 'headers', 'secret_headers', 'expect', 'connection'] as const

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function pushField(add: Add, where: string, v: unknown): PushCheck | undefined {
  const at = `${where}.push`
  if (!isObj(v)) {
    add(at, `must be a map with "grace" (e.g. {grace: 5m}) and optionally "token", got ${JSON.stringify(v)}`)
    return undefined
  }
  for (const k of Object.keys(v)) if (k !== 'grace' && k !== 'token') add(at, `unknown field "${k}" (allowed: grace, token)`)
  if (v.grace === undefined) {
    add(`${at}.grace`, 'is required: how long after a push the next one must arrive, e.g. 5m')
    return undefined
  }
  const grace = parseDuration(v.grace)
  if (typeof grace !== 'number') {
    add(`${at}.grace`, grace.error)
    return undefined
  }
  if (grace < 2000 || grace > MAX_GRACE_MS) {
    add(`${at}.grace`, `must be from 2s to 168h (7 days), got ${JSON.stringify(v.grace)}`)
    return undefined
  }
  const out: PushCheck = { kind: 'push', graceMs: grace }
  if (v.token !== undefined) {
    if (isObj(v.token)) {
      const r = reference(add, `${at}.token`, v.token)
      if (r) out.token = r
    } else if (typeof v.token !== 'string' || !/^[\x21-\x7e]{16,4096}$/.test(v.token)) {
      add(`${at}.token`, 'must be 16-4096 printable characters without spaces (e.g. the output of `heck keygen`), {env: NAME} or {file: /absolute/path}')
    } else if (v.token === REDACTED) add(`${at}.token`, 'is the placeholder reads show for a secret: send the token itself, or a reference')
    else out.token = v.token
  }
  return out
}
