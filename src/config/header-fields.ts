/**
 * The header fields of the targets file and of `POST /v1/targets` (SPEC.md "Targets
 * file", "Secrets"): `headers` (literal values, or `{env: NAME}` / `{file: PATH}`
 * references the checking node reads) and `secret_headers`. Problems are reported
 * through `add(where, reason)`, in the style of targets-file.ts, which calls these.
 */
import type { HeaderValue } from './types.ts'
import { REDACTED } from './secrets.ts'

export type Add = (where: string, msg: string) => void
type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/
const MAX_PATH = 4096
const FORMS = 'a string, {env: NAME} or {file: /absolute/path}'
/** Said to whoever sends the placeholder back: it stands for a value heck will not show. */
export const PLACEHOLDER_FIX = `"${REDACTED}" is what reads show in place of a secret; send the value itself or a reference ({env: NAME} or {file: /absolute/path}) instead`

export function reference(add: Add, where: string, v: Obj): HeaderValue | undefined {
  const keys = Object.keys(v)
  if (keys.length !== 1 || (keys[0] !== 'env' && keys[0] !== 'file')) {
    add(where, `must be ${FORMS}, got ${JSON.stringify(v)}`)
    return undefined
  }
  if (keys[0] === 'env') {
    if (typeof v.env !== 'string' || !ENV_NAME.test(v.env)) {
      add(`${where}.env`, `must be an environment variable name (A-Z a-z 0-9 _, not starting with a digit), got ${JSON.stringify(v.env)}`)
      return undefined
    }
    return { env: v.env }
  }
  if (typeof v.file !== 'string' || !v.file.startsWith('/') || v.file.length > MAX_PATH || v.file.includes('\0')) {
    add(`${where}.file`, `must be an absolute path on the checking node (up to ${MAX_PATH} characters), got ${JSON.stringify(v.file)}`)
    return undefined
  }
  return { file: v.file }
}

/**
 * `headers:` as a map of name to value. References are accepted where `refs` is
 * set (targets); webhooks take literal values. The placeholder "<redacted>" is refused.
 */
export function headersField(add: Add, where: string, v: unknown, refs: boolean): Record<string, HeaderValue> | undefined {
  if (v === undefined) return undefined
  if (!isObj(v)) {
    add(`${where}.headers`, refs ? `must be a map of header name to ${FORMS}` : 'must be a map of header name to string value')
    return undefined
  }
  const out: Record<string, HeaderValue> = {}
  for (const [k, val] of Object.entries(v)) {
    const at = `${where}.headers.${k}`
    if (!HEADER_NAME.test(k)) add(`${where}.headers`, `"${k}" is not a valid header name`)
    else if (isObj(val)) {
      if (!refs) add(at, 'must be a string (webhook headers take literal values: the targets file stays on this node)')
      else {
        const r = reference(add, at, val)
        if (r) out[k] = r
      }
    } else if (typeof val !== 'string' && typeof val !== 'number') add(at, refs ? `must be ${FORMS}` : 'must be a string')
    else if (/[\r\n]/.test(String(val))) add(at, 'must not contain line breaks')
    else if (String(val).trim() === REDACTED) add(at, PLACEHOLDER_FIX)
    else out[k] = String(val)
  }
  return out
}

/** `secret_headers:` a list of header names whose literal values reads redact. */
export function secretHeadersField(add: Add, where: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined
  if (!Array.isArray(v)) {
    add(`${where}.secret_headers`, `must be a list of header names, e.g. [X-Api-Key], got ${JSON.stringify(v)}`)
    return undefined
  }
  const out: string[] = []
  for (const n of v) {
    if (typeof n !== 'string' || !HEADER_NAME.test(n)) add(`${where}.secret_headers`, `${JSON.stringify(n)} is not a valid header name`)
    else out.push(n)
  }
  return out
}

/** Two lists of header names as one, without repeats (case-insensitive), in the order first written. */
export function mergeNames(a: readonly string[] | undefined, b: readonly string[] | undefined): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const n of [...(a ?? []), ...(b ?? [])]) {
    if (seen.has(n.toLowerCase())) continue
    seen.add(n.toLowerCase())
    out.push(n)
  }
  return out
}
