/**
 * The real Prober (docs/ARCHITECTURE.md "Seams"): HTTP(S) checks through Bun's fetch, TCP
 * connect checks through Bun.connect (tcp-prober.ts). Both honour the scheduler's
 * AbortSignal as the timeout and never throw: every failure becomes a ProbeOutcome
 * with an error a person can act on.
 *
 * Connection modes (SPEC "connection"): `reuse` keeps connections alive (cheap,
 * but hides connect and TLS failures); `new` sends `keepalive: false`, which makes
 * Bun open a fresh connection per check (verified by counting client ports in
 * test/poller/probers.test.ts). The body is read only for `body_contains`; small
 * bodies are otherwise drained so the connection can be reused, big or unsized
 * ones are cancelled (which costs the connection, not the memory).
 *
 * Header references (`{env: NAME}`, `{file: PATH}`, SPEC.md "Secrets") are resolved
 * here, at check time, on the node that checks (secret-values.ts); one that cannot be
 * resolved fails the check with an error naming the header, the variable or file and
 * this node. Error texts never carry a resolved value or the URL's password.
 */
import type { HttpCheck, SecretRef, Target } from '../config/types.ts'
import type { Clock } from '../seams/clock.ts'
import type { Prober, ProbeOutcome } from '../poller/prober.ts'
import { evaluateHttp, needsBody } from '../poller/conditions.ts'
import { REDACTED } from '../config/secrets.ts'
import { describeError, probeTcp } from './tcp-prober.ts'
import { realClock } from './real-clock.ts'
import { SecretValues } from './secret-values.ts'

export interface ProberOptions {
  /** heck version, for the User-Agent. */
  version: string
  /** This node's name, for the User-Agent, so a server can tell which node checked it. */
  nodeName: string
  /** For the file cache of header references; the real clock by default. */
  clock?: Clock
  /** See SecretValuesOptions.fileTtlMs. */
  secretFileTtlMs?: number
  /** See SecretValuesOptions.env. */
  env?: Record<string, string | undefined>
}

/** What a target's headers become: the literal part, built once, and the references to resolve per check. */
interface Headers {
  fixed: Record<string, string>
  refs: Array<[name: string, ref: SecretRef]>
}

/** Bodies up to this size (bytes) are drained rather than cancelled, to keep the connection reusable. */
const DRAIN_MAX_BYTES = 64 * 1024
/** At most this much body (bytes) is searched for `body_contains`; a health page is small. */
const BODY_READ_MAX_BYTES = 1024 * 1024

export function createProber(opts: ProberOptions): Prober {
  const userAgent = `heck/${opts.version} (node ${opts.nodeName})`
  const secrets = new SecretValues({ nodeName: opts.nodeName, clock: opts.clock ?? realClock, fileTtlMs: opts.secretFileTtlMs, env: opts.env })
  // Headers are built once per target object; the config layer replaces the object on change.
  const headerCache = new WeakMap<Target, Headers>()
  const headersFor = (t: Target, check: HttpCheck): Headers => {
    let h = headerCache.get(t)
    if (!h) {
      h = { fixed: { 'user-agent': userAgent }, refs: [] }
      // A target's own headers win, whatever their case (SPEC "Health model").
      for (const [k, v] of Object.entries(check.headers)) {
        if (typeof v === 'string') h.fixed[k.toLowerCase()] = v
        else {
          delete h.fixed[k.toLowerCase()]
          h.refs.push([k, v])
        }
      }
      headerCache.set(t, h)
    }
    return h
  }
  return {
    async probe(target, signal) {
      const check = target.check
      if (check.kind === 'tcp') return probeTcp(check.host, check.port, target, signal)
      // Heartbeats come in; nothing goes out (the node judges them: node/push-ledger.ts).
      if (check.kind === 'push') return { ok: false, latencyMs: 0, error: 'push targets are not probed' }
      const h = headersFor(target, check)
      if (h.refs.length === 0) return probeHttp(target, check, h.fixed, signal, [])
      const headers = { ...h.fixed }
      const values: string[] = []
      for (const [name, ref] of h.refs) {
        const r = await secrets.resolve(ref)
        if (!r.ok) return { ok: false, latencyMs: 0, error: `header ${name}: ${r.error}` }
        headers[name.toLowerCase()] = r.value
        values.push(r.value)
      }
      return probeHttp(target, check, headers, signal, values)
    },
  }
}

/** An error text without the secrets that went into the request, should a library quote them. */
function scrub(text: string, check: HttpCheck, values: string[]): string {
  let out = text
  let password = ''
  try {
    password = new URL(check.url).password
  } catch {}
  for (const v of password ? [...values, password, decodeURIComponentSafe(password)] : values) if (v.length >= 4) out = out.split(v).join(REDACTED)
  return out
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

async function probeHttp(target: Target, check: HttpCheck, headers: Record<string, string>, signal: AbortSignal, values: string[]): Promise<ProbeOutcome> {
  const t0 = performance.now()
  let statusCode: number | undefined
  try {
    const res = await fetch(check.url, {
      method: check.method,
      headers,
      signal,
      // Report the target's own answer: a redirect is a status like any other.
      redirect: 'manual',
      keepalive: target.connection !== 'new',
    })
    statusCode = res.status
    let body: string | undefined
    if (needsBody(target.expect)) body = await readCapped(res, BODY_READ_MAX_BYTES)
    else await discard(res)
    const latencyMs = performance.now() - t0
    const v = evaluateHttp(target.expect, res.status, latencyMs, body)
    return v.ok ? { ok: true, latencyMs, statusCode } : { ok: false, latencyMs, statusCode, error: v.error as string }
  } catch (err) {
    const latencyMs = performance.now() - t0
    const out: ProbeOutcome = { ok: false, latencyMs, error: scrub(describeError(err, signal, target.timeoutMs), check, values) }
    if (statusCode !== undefined) out.statusCode = statusCode
    return out
  }
}

async function discard(res: Response): Promise<void> {
  // Read the length before touching res.body: in Bun that getter makes a ReadableStream,
  // which a small sized body (the common case) does not need.
  const header = res.headers.get('content-length')
  const len = header === null ? Number.NaN : Number(header)
  if (len >= 0 && len <= DRAIN_MAX_BYTES) {
    await res.arrayBuffer()
    return
  }
  if (!res.body) return
  if (len > DRAIN_MAX_BYTES) {
    await res.body.cancel()
    return
  }
  // Unsized (chunked): drain while it stays small, so the connection survives; give up past the cap.
  const reader = res.body.getReader()
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    bytes += value.byteLength
    if (bytes > DRAIN_MAX_BYTES) {
      await reader.cancel()
      return
    }
  }
}

async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.byteLength
    text += decoder.decode(value, { stream: true })
    if (bytes >= max) {
      await reader.cancel()
      break
    }
  }
  return text + decoder.decode()
}
