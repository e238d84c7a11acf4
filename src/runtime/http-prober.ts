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
 */
import type { HttpCheck, Target } from '../config/types.ts'
import type { Prober, ProbeOutcome } from '../poller/prober.ts'
import { evaluateHttp, needsBody } from '../poller/conditions.ts'
import { describeError, probeTcp } from './tcp-prober.ts'

export interface ProberOptions {
  /** heck version, for the User-Agent. */
  version: string
  /** This node's name, for the User-Agent, so a server can tell which node checked it. */
  nodeName: string
}

/** Bodies up to this size (bytes) are drained rather than cancelled, to keep the connection reusable. */
const DRAIN_MAX_BYTES = 64 * 1024
/** At most this much body (bytes) is searched for `body_contains`; a health page is small. */
const BODY_READ_MAX_BYTES = 1024 * 1024

export function createProber(opts: ProberOptions): Prober {
  const userAgent = `heck/${opts.version} (node ${opts.nodeName})`
  // Headers are built once per target object; the config layer replaces the object on change.
  const headerCache = new WeakMap<Target, Record<string, string>>()
  const headersFor = (t: Target, check: HttpCheck): Record<string, string> => {
    let h = headerCache.get(t)
    if (!h) {
      h = { 'user-agent': userAgent }
      // A target's own headers win, whatever their case (SPEC "Health model").
      for (const [k, v] of Object.entries(check.headers)) h[k.toLowerCase()] = v
      headerCache.set(t, h)
    }
    return h
  }
  return {
    probe(target, signal) {
      const check = target.check
      if (check.kind === 'tcp') return probeTcp(check.host, check.port, target, signal)
      return probeHttp(target, check, headersFor(target, check), signal)
    },
  }
}

async function probeHttp(target: Target, check: HttpCheck, headers: Record<string, string>, signal: AbortSignal): Promise<ProbeOutcome> {
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
    const out: ProbeOutcome = { ok: false, latencyMs, error: describeError(err, signal, target.timeoutMs) }
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
