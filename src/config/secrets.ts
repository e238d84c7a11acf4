/**
 * Secrets in definitions (SPEC.md "Secrets"): which values are secret, how reads show
 * them, and which literal secrets a target carries. Every read answer that shows a
 * definition (the API and through it the CLI and TUI, logs, webhook alerts) passes it
 * through `redact`, the one place that knows what is secret: a new kind of credential
 * (push tokens, Alertmanager credentials) is one more entry in FIELD_RULES.
 *
 * Follows Prometheus, which shows secrets in its config as "<secret>" and reads them
 * from `*_file` fields, and Kubernetes' `valueFrom`: the reference is configuration,
 * the value is not. A reference is not a secret and is shown as itself.
 */
import type { SecretRef, Target } from './types.ts'

/** What a read shows in place of a secret value; refused as input, so it is never stored. */
export const REDACTED = '<redacted>'

/** Headers whose literal values are always secret (lower case), whatever `secret_headers` says. */
export const DEFAULT_SECRET_HEADERS: readonly string[] = ['authorization', 'cookie', 'proxy-authorization']

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** `{env: NAME}` or `{file: PATH}`: exactly one key, a string. */
export function isSecretRef(v: unknown): v is SecretRef {
  if (!isObj(v)) return false
  const keys = Object.keys(v)
  return keys.length === 1 && (typeof v.env === 'string' || typeof v.file === 'string')
}

/** True when a header's literal value is secret: a default name or one listed in `extra` (case-insensitive). */
export function isSecretHeader(name: string, extra: readonly string[] | undefined): boolean {
  const n = name.toLowerCase()
  return DEFAULT_SECRET_HEADERS.includes(n) || (extra ?? []).some((e) => e.toLowerCase() === n)
}

/** The URL with its userinfo password shown as "<redacted>"; the user name stays (it names, it does not prove). */
export function redactUrl(url: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return url
  }
  if (!u.password) return url
  return `${u.protocol}//${u.username}:${REDACTED}@${u.host}${u.pathname}${u.search}${u.hash}`
}

const names = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])

function redactHeaders(v: unknown, owner: Obj): unknown {
  if (!isObj(v)) return v
  // `secret_headers` in the file form, `secretHeaders` in the internal one: either may be shown.
  const extra = [...names(owner.secret_headers), ...names(owner.secretHeaders)]
  const out: Obj = {}
  for (const [k, hv] of Object.entries(v)) out[k] = typeof hv === 'string' && isSecretHeader(k, extra) ? REDACTED : redact(hv)
  return out
}

/**
 * How a field's value is shown, by field name, wherever the field sits: a target's
 * `url` and `headers`, and the same fields nested anywhere (a webhook's). Extend this
 * table for new kinds of credentials; `redact` applies it to every level.
 */
const FIELD_RULES: Record<string, (v: unknown, owner: Obj) => unknown> = {
  url: (v) => (typeof v === 'string' ? redactUrl(v) : v),
  headers: redactHeaders,
  // A push target's token (literal; a reference stays as it is).
  push: (v) => (isObj(v) && typeof v.token === 'string' ? { ...v, token: REDACTED } : redact(v)),
}

/**
 * A copy of `v` (a definition in file or internal form, or anything holding some)
 * with every secret value replaced by "<redacted>". References stay as they are.
 */
export function redact<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => redact(x)) as T
  if (!isObj(v)) return v
  const out: Obj = {}
  for (const [k, x] of Object.entries(v)) {
    const rule = FIELD_RULES[k]
    out[k] = rule ? rule(x, v) : redact(x)
  }
  return out as T
}

/**
 * The literal secrets a target carries, named for a warning ("header Authorization",
 * "url password"): these are replicated as they are (encrypted only with --encrypt),
 * where a reference would keep the value on the checking node.
 */
export function literalSecrets(t: Target): string[] {
  const c = t.check
  if (c.kind === 'push') return typeof c.token === 'string' ? ['push token'] : []
  if (c.kind !== 'http') return []
  const out: string[] = []
  for (const [k, v] of Object.entries(c.headers)) if (typeof v === 'string' && isSecretHeader(k, c.secretHeaders)) out.push(`header ${k}`)
  try {
    if (new URL(c.url).password) out.push('url password')
  } catch {}
  return out
}
