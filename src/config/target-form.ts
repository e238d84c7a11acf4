/**
 * The two directions between a normalised Target (types.ts) and the targets-file
 * form people write (SPEC.md "Targets file"): `toFileForm` writes a Target back as
 * a file entry, with the same field names and duration strings that the file and
 * `POST /v1/targets` accept, and `asTarget` checks a definition that arrived from
 * a peer by running it through the very validation the file and the API use
 * (validateTarget), so a target is held to one set of rules wherever it came from.
 * `publicForm` is what reads show: the file form with its secrets redacted
 * (secrets.ts), so a client can POST back what it GETs (references and all).
 */
import type { HeaderValue, Target } from './types.ts'
import { validateTarget } from './targets-file.ts'
import { redact } from './secrets.ts'

const UNITS: Array<[string, number]> = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
]

/** Milliseconds as the largest exact unit: 5000 → "5s", 90000 → "90s", 1500 → "1500ms". */
export function exactDuration(ms: number): string {
  for (const [unit, size] of UNITS) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  return `${ms}ms`
}

/** A Target as one entry of a targets file; validateTarget(toFileForm(t)) gives back t. */
export function toFileForm(t: Target): Record<string, unknown> {
  const out: Record<string, unknown> = { id: t.id }
  const c = t.check
  if (c.kind === 'push') {
    out.push = { grace: exactDuration(c.graceMs), ...(c.token !== undefined ? { token: typeof c.token === 'string' ? c.token : { ...c.token } } : {}) }
    if (t.labels) out.labels = { ...t.labels }
    if (t.flap) out.flap = { changes: t.flap.changes, within: exactDuration(t.flap.withinMs), settle: exactDuration(t.flap.settleMs) }
    return out
  }
  if (c.kind === 'http') {
    out.url = c.url
    if (c.method !== 'GET') out.method = c.method
    if (Object.keys(c.headers).length > 0) out.headers = copyHeaders(c.headers)
    if (c.secretHeaders && c.secretHeaders.length > 0) out.secret_headers = [...c.secretHeaders]
  } else out.tcp = c.host.includes(':') ? `[${c.host}]:${c.port}` : `${c.host}:${c.port}`
  out.interval = exactDuration(t.intervalMs)
  out.timeout = exactDuration(t.timeoutMs)
  out.rise = t.rise
  out.fall = t.fall
  if (c.kind === 'http') {
    const e = t.expect
    const expect: Record<string, unknown> = {}
    if (e.status.length > 0) expect.status = [...e.status]
    if (e.bodyContains !== undefined) expect.body_contains = e.bodyContains
    if (e.maxLatencyMs !== undefined) expect.max_latency = exactDuration(e.maxLatencyMs)
    if (Object.keys(expect).length > 0) out.expect = expect
  }
  if (t.connection !== 'reuse') out.connection = t.connection
  if (t.confirm) out.confirm = t.confirm
  if (t.labels) out.labels = { ...t.labels }
  if (t.flap) out.flap = { changes: t.flap.changes, within: exactDuration(t.flap.withinMs), settle: exactDuration(t.flap.settleMs) }
  return out
}

/** A copy, references included, so the answer never aliases the stored definition. */
function copyHeaders(h: Record<string, HeaderValue>): Record<string, HeaderValue> {
  const out: Record<string, HeaderValue> = {}
  for (const [k, v] of Object.entries(h)) out[k] = typeof v === 'string' ? v : { ...v }
  return out
}

/**
 * A target as every read shows it (SPEC.md "HTTP API", "Secrets"): the targets-file
 * form, which `POST /v1/targets` takes back, with secret values shown as "<redacted>".
 */
export function publicForm(t: Target): Record<string, unknown> {
  return redact(toFileForm(t))
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * A definition received from a peer, held to the rules of validateTarget: undefined
 * when it is not a valid target named `id`. A peer running other code must not
 * crash this one, so nothing here throws.
 */
export function asTarget(id: string, v: unknown): Target | undefined {
  if (!isObj(v) || v.id !== id || !isObj(v.check) || !isObj(v.expect)) return undefined
  try {
    return validateTarget(toFileForm(v as unknown as Target))
  } catch {
    return undefined
  }
}
