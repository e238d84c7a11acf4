/**
 * Parses and validates a targets file (SPEC.md "Targets file"), YAML or JSON,
 * into the normalised form in types.ts. Every problem is reported with the file,
 * the target (by id, or by position when the id itself is bad) and the field, so
 * a person can fix it without guessing. Nothing half-valid gets through.
 */
import type { ConnectionMode, Expect, FlapPolicy, HeaderValue, Target, TargetsFile, Webhook } from './types.ts'
import { readFile } from 'node:fs/promises'
import { parseDuration } from './duration.ts'
import { headersField, mergeNames, PLACEHOLDER_FIX, secretHeadersField } from './header-fields.ts'
import { REDACTED } from './secrets.ts'
import { POLL_FIELDS, PUSH_EVAL_MS, pushField } from './push-field.ts'
import { alertmanagerField, flapField, labelsField, webhookFormat } from './alert-fields.ts'

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''
    super(`${problems[0] ?? 'invalid configuration'}${more}`)
    this.name = 'ConfigError'
  }
}

export const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/

/** Defaults from SPEC.md; timeout is also capped at 80% of the interval when not given. */
export const DEFAULTS = { intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3 } as const
/** Upper bounds that keep a typo from turning into a resource problem. */
const MAX_TARGETS = 200_000
const MAX_INTERVAL_MS = 24 * 3_600_000

const TOP_FIELDS = new Set(['defaults', 'targets', 'webhooks', 'alertmanager'])
const DEFAULT_FIELDS = new Set(['interval', 'timeout', 'rise', 'fall', 'method', 'headers', 'secret_headers', 'expect', 'connection', 'flap', 'confirm'])
const TARGET_FIELDS = new Set([...DEFAULT_FIELDS, 'id', 'url', 'tcp', 'push', 'labels'])
const EXPECT_FIELDS = new Set(['status', 'body_contains', 'max_latency'])
const WEBHOOK_FIELDS = new Set(['url', 'headers', 'format'])
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Collects problems, each prefixed by where it was found. */
class Problems {
  readonly list: string[] = []
  add(where: string, msg: string): void {
    this.list.push(`${where}: ${msg}`)
  }
  unknownFields(where: string, o: Obj, allowed: Set<string>): void {
    for (const k of Object.keys(o)) {
      if (!allowed.has(k)) this.add(where, `unknown field "${k}" (allowed: ${[...allowed].join(', ')})`)
    }
  }
}

function durationField(p: Problems, where: string, o: Obj, field: string): number | undefined {
  if (o[field] === undefined) return undefined
  const d = parseDuration(o[field])
  if (typeof d === 'number') {
    if (d > MAX_INTERVAL_MS) p.add(`${where}.${field}`, `must be at most 24h`)
    return d
  }
  p.add(`${where}.${field}`, d.error)
  return undefined
}

function countField(p: Problems, where: string, o: Obj, field: string): number | undefined {
  const v = o[field]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 100) {
    p.add(`${where}.${field}`, `must be a whole number from 1 to 100, got ${JSON.stringify(v)}`)
    return undefined
  }
  return v
}

interface Partial_ {
  intervalMs?: number
  timeoutMs?: number
  rise?: number
  fall?: number
  method?: string
  headers?: Record<string, HeaderValue>
  secretHeaders?: string[]
  expect?: Expect
  connection?: ConnectionMode
  flap?: FlapPolicy
  confirm?: number
}

/** The fields shared by `defaults:` and each target. */
function commonFields(p: Problems, where: string, o: Obj): Partial_ {
  const out: Partial_ = {}
  const flap = flapField((w, msg) => p.add(w, msg), where, o.flap)
  if (flap) out.flap = flap
  if (o.confirm !== undefined) {
    if (typeof o.confirm !== 'number' || !Number.isInteger(o.confirm) || o.confirm < 1 || o.confirm > 5) {
      p.add(`${where}.confirm`, `must be a whole number from 1 (the owner alone) to 5, got ${JSON.stringify(o.confirm)}`)
    } else out.confirm = o.confirm
  }
  const interval = durationField(p, where, o, 'interval')
  if (interval !== undefined) out.intervalMs = interval
  const timeout = durationField(p, where, o, 'timeout')
  if (timeout !== undefined) out.timeoutMs = timeout
  const rise = countField(p, where, o, 'rise')
  if (rise !== undefined) out.rise = rise
  const fall = countField(p, where, o, 'fall')
  if (fall !== undefined) out.fall = fall
  if (o.method !== undefined) {
    const m = typeof o.method === 'string' ? o.method.toUpperCase() : ''
    if (!METHODS.has(m)) p.add(`${where}.method`, `must be one of ${[...METHODS].join(', ')}, got ${JSON.stringify(o.method)}`)
    else out.method = m
  }
  const add = (w: string, msg: string) => p.add(w, msg)
  const headers = headersField(add, where, o.headers, true)
  if (headers) out.headers = headers
  const secret = secretHeadersField(add, where, o.secret_headers)
  if (secret) out.secretHeaders = secret
  if (o.connection !== undefined) {
    if (o.connection !== 'reuse' && o.connection !== 'new') {
      p.add(`${where}.connection`, `must be "reuse" (keep-alive, the default) or "new" (a new connection per check), got ${JSON.stringify(o.connection)}`)
    } else out.connection = o.connection
  }
  if (o.expect !== undefined) out.expect = expectField(p, `${where}.expect`, o.expect)
  return out
}

function expectField(p: Problems, where: string, v: unknown): Expect {
  const out: Expect = { status: [] }
  if (!isObj(v)) {
    p.add(where, 'must be a map with status, body_contains and/or max_latency')
    return out
  }
  p.unknownFields(where, v, EXPECT_FIELDS)
  if (v.status !== undefined) {
    const list = Array.isArray(v.status) ? v.status : [v.status]
    for (const s of list) {
      if (typeof s !== 'number' || !Number.isInteger(s) || s < 100 || s > 599) {
        p.add(`${where}.status`, `must be HTTP status codes from 100 to 599, got ${JSON.stringify(s)}`)
      } else out.status.push(s)
    }
    if (list.length === 0) p.add(`${where}.status`, 'must list at least one status code (omit it for any 2xx)')
  }
  if (v.body_contains !== undefined) {
    if (typeof v.body_contains !== 'string' || v.body_contains === '') p.add(`${where}.body_contains`, 'must be a non-empty string')
    else out.bodyContains = v.body_contains
  }
  const maxLatency = durationField(p, where, v, 'max_latency')
  if (maxLatency !== undefined) out.maxLatencyMs = maxLatency
  return out
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s/]+)):(\d{1,5})$/.exec(s)
  if (!m) return undefined
  const port = Number(m[3])
  if (port < 1 || port > 65535) return undefined
  return { host: (m[1] ?? m[2]) as string, port }
}

/**
 * Validates one target (from the file or from `POST /v1/targets`). `where` names
 * it in messages; problems go to `p`. Returns undefined when it is invalid.
 */
function targetFrom(p: Problems, where: string, raw: unknown, defaults: Partial_): Target | undefined {
  const before = p.list.length
  if (!isObj(raw)) {
    p.add(where, 'must be a map with at least "id" and "url" or "tcp"')
    return undefined
  }
  if (typeof raw.id !== 'string' || !ID_PATTERN.test(raw.id)) {
    p.add(`${where}.id`, `must be 1-128 characters of A-Z a-z 0-9 . _ -, got ${JSON.stringify(raw.id)}`)
  } else where = where.replace(/(targets\[\d+\]|target)$/, `target "${raw.id}"`)
  p.unknownFields(where, raw, TARGET_FIELDS)
  const own = commonFields(p, where, raw)
  const m = { ...defaults, ...own }

  if (raw.push !== undefined) {
    if (raw.url !== undefined || raw.tcp !== undefined) p.add(where, 'set one of "url" (HTTP check), "tcp" (TCP check) or "push" (heartbeats), not several')
    for (const f of POLL_FIELDS) {
      if (raw[f] !== undefined) p.add(`${where}.${f}`, 'push targets are not polled: remove it ("push.grace" is the deadline)')
    }
    const push = pushField((w, msg) => p.add(w, msg), where, raw.push)
    const pushLabels = labelsField((w, msg) => p.add(w, msg), `${where}.labels`, raw.labels)
    const pushFlap = flapField((w, msg) => p.add(w, msg), where, raw.flap) ?? defaults.flap
    if (p.list.length > before || !push) return undefined
    // Evaluated every PUSH_EVAL_MS by the owner, with thresholds of 1: see push-field.ts.
    return { id: raw.id as string, check: push, intervalMs: PUSH_EVAL_MS, timeoutMs: PUSH_EVAL_MS / 2, rise: 1, fall: 1, expect: { status: [] }, connection: 'reuse', ...(pushLabels && Object.keys(pushLabels).length > 0 ? { labels: pushLabels } : {}), ...(pushFlap && pushFlap.changes > 0 ? { flap: pushFlap } : {}) }
  }
  let check: Target['check'] | undefined
  if (raw.url !== undefined && raw.tcp !== undefined) p.add(where, 'set either "url" (HTTP check) or "tcp" (TCP check), not both')
  else if (raw.url !== undefined) {
    let u: URL | undefined
    try {
      u = typeof raw.url === 'string' ? new URL(raw.url) : undefined
    } catch {}
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || !u.hostname) {
      p.add(`${where}.url`, `must be an absolute http:// or https:// URL, got ${JSON.stringify(raw.url)}`)
    } else if (safeDecode(u.password) === REDACTED) p.add(`${where}.url`, `the password is ${PLACEHOLDER_FIX}`)
    else {
      const secret = mergeNames(defaults.secretHeaders, own.secretHeaders)
      check = { kind: 'http', url: u.href, method: m.method ?? 'GET', headers: m.headers ?? {}, ...(secret.length > 0 ? { secretHeaders: secret } : {}) }
    }
  } else if (raw.tcp !== undefined) {
    const hp = typeof raw.tcp === 'string' ? parseHostPort(raw.tcp) : undefined
    if (!hp) p.add(`${where}.tcp`, `must be HOST:PORT with a port from 1 to 65535, got ${JSON.stringify(raw.tcp)}`)
    else check = { kind: 'tcp', ...hp }
    if (own.method || own.headers || own.secretHeaders || own.expect) p.add(where, '"method", "headers", "secret_headers" and "expect" apply to HTTP checks only')
  } else p.add(where, 'needs "url" (HTTP check), "tcp" (TCP check) or "push" (heartbeats)')

  const intervalMs = m.intervalMs ?? DEFAULTS.intervalMs
  const timeoutMs = m.timeoutMs ?? Math.min(DEFAULTS.timeoutMs, Math.floor(intervalMs * 0.8))
  if (timeoutMs >= intervalMs) {
    p.add(`${where}.timeout`, `timeout ${timeoutMs}ms must be below the interval ${intervalMs}ms, so checks of one target never overlap`)
  }
  const labels = labelsField((w, msg) => p.add(w, msg), `${where}.labels`, raw.labels)
  if (p.list.length > before || !check) return undefined
  return {
    ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
    ...(m.flap && m.flap.changes > 0 ? { flap: m.flap } : {}),
    ...(m.confirm && m.confirm > 1 ? { confirm: m.confirm } : {}),
    id: raw.id as string,
    check,
    intervalMs,
    timeoutMs,
    rise: m.rise ?? DEFAULTS.rise,
    fall: m.fall ?? DEFAULTS.fall,
    expect: m.expect ?? { status: [] },
    connection: m.connection ?? 'reuse',
  }
}

/** Validates the parsed document (YAML or JSON already decoded). */
export function validateTargets(doc: unknown, file: string): TargetsFile {
  const p = new Problems()
  const out: TargetsFile = { targets: [], webhooks: [] }
  if (doc === null || doc === undefined) return out // an empty file watches nothing, which is valid
  if (!isObj(doc)) throw new ConfigError([`${file}: must be a map with "targets" (and optionally "defaults", "webhooks")`])
  p.unknownFields(file, doc, TOP_FIELDS)

  let defaults: Partial_ = {}
  if (doc.defaults !== undefined) {
    if (!isObj(doc.defaults)) p.add(`${file}: defaults`, 'must be a map')
    else {
      p.unknownFields(`${file}: defaults`, doc.defaults, DEFAULT_FIELDS)
      defaults = commonFields(p, `${file}: defaults`, doc.defaults)
    }
  }

  const targets = doc.targets ?? []
  if (!Array.isArray(targets)) p.add(`${file}: targets`, 'must be a list')
  else if (targets.length > MAX_TARGETS) p.add(`${file}: targets`, `has ${targets.length} entries; at most ${MAX_TARGETS} are allowed`)
  else {
    const seen = new Map<string, number>()
    targets.forEach((raw, i) => {
      const t = targetFrom(p, `${file}: targets[${i}]`, raw, defaults)
      const id = isObj(raw) && typeof raw.id === 'string' ? raw.id : undefined
      if (id !== undefined) {
        const first = seen.get(id)
        if (first !== undefined) p.add(`${file}: target "${id}"`, `duplicate id (also at targets[${first}])`)
        else seen.set(id, i)
      }
      if (t) out.targets.push(t)
    })
  }

  const hooks = doc.webhooks ?? []
  if (!Array.isArray(hooks)) p.add(`${file}: webhooks`, 'must be a list')
  else {
    hooks.forEach((raw, i) => {
      const where = `${file}: webhooks[${i}]`
      const hook = webhookFrom(p, where, raw)
      if (hook) out.webhooks.push(hook)
    })
  }
  const am = alertmanagerField((w, msg) => p.add(w, msg), `${file}: alertmanager`, doc.alertmanager)
  if (am) out.alertmanager = am
  if (p.list.length > 0) throw new ConfigError(p.list)
  return out
}

function webhookFrom(p: Problems, where: string, raw: unknown): Webhook | undefined {
  if (typeof raw === 'string') raw = { url: raw }
  if (!isObj(raw)) {
    p.add(where, 'must be a URL or a map with "url" and optional "headers"')
    return undefined
  }
  p.unknownFields(where, raw, WEBHOOK_FIELDS)
  let u: URL | undefined
  try {
    u = typeof raw.url === 'string' ? new URL(raw.url) : undefined
  } catch {}
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    p.add(`${where}.url`, `must be an absolute http:// or https:// URL, got ${JSON.stringify(raw.url)}`)
    return undefined
  }
  // Without references (refs: false) every value is a string.
  const headers = (headersField((w, msg) => p.add(w, msg), where, raw.headers, false) ?? {}) as Record<string, string>
  const format = webhookFormat((w, msg) => p.add(w, msg), where, raw.format)
  return { url: u.href, headers, ...(format !== 'json' ? { format } : {}) }
}

/** Validates one target given on its own (the API's POST body); defaults as in SPEC. */
export function validateTarget(raw: unknown, where = 'target'): Target {
  const p = new Problems()
  const t = targetFrom(p, where, raw, {})
  if (!t || p.list.length > 0) throw new ConfigError(p.list.length ? p.list : [`${where}: invalid`])
  return t
}

/** Decodes text as JSON when the file says .json (or looks like JSON), else as YAML. */
export function parseTargetsText(text: string, file: string): TargetsFile {
  let doc: unknown
  const json = file.endsWith('.json') || /^\s*[{[]/.test(text)
  try {
    doc = json ? JSON.parse(text) : Bun.YAML.parse(text)
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    throw new ConfigError([`${file}: not valid ${json ? 'JSON' : 'YAML'}: ${msg}`])
  }
  // A YAML stream with several documents parses to an array of them; we take one document.
  return validateTargets(doc, file)
}

export async function loadTargetsFile(path: string): Promise<TargetsFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new ConfigError([`${path}: no such file (give --targets the path of a YAML or JSON targets file)`])
    throw new ConfigError([`${path}: cannot read it: ${e instanceof Error ? e.message : String(e)}`])
  }
  return parseTargetsText(text, path)
}
