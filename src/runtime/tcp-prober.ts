/**
 * TCP connect check (SPEC "Targets file", `tcp: host:port`): success is a
 * completed three-way handshake, after which the socket is closed at once. Like
 * blackbox-exporter's tcp prober without a query/response script. The AbortSignal
 * ends the wait; a connection that completes after it is closed when it opens.
 */
import type { Target } from '../config/types.ts'
import type { ProbeOutcome } from '../poller/prober.ts'
import { checkLatency } from '../poller/conditions.ts'

export function probeTcp(host: string, port: number, target: Target, signal: AbortSignal): Promise<ProbeOutcome> {
  const t0 = performance.now()
  return new Promise<ProbeOutcome>((resolve) => {
    let settled = false
    const finish = (o: ProbeOutcome) => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      resolve(o)
    }
    const onAbort = () => finish({ ok: false, latencyMs: performance.now() - t0, error: `timeout after ${target.timeoutMs}ms` })
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open(socket) {
          const latencyMs = performance.now() - t0
          socket.end()
          const v = checkLatency(target.expect, latencyMs)
          finish(v.ok ? { ok: true, latencyMs } : { ok: false, latencyMs, error: v.error as string })
        },
        data() {},
        connectError(_socket, err) {
          finish({ ok: false, latencyMs: performance.now() - t0, error: describeError(err, signal, target.timeoutMs) })
        },
        error() {},
      },
    }).catch((err: unknown) => {
      finish({ ok: false, latencyMs: performance.now() - t0, error: describeError(err, signal, target.timeoutMs) })
    })
  })
}

/** Turns fetch/socket errors into one short line: what happened, not a stack. */
export function describeError(err: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) return `timeout after ${timeoutMs}ms`
  const e = err as { code?: string; message?: string; name?: string }
  switch (e?.code) {
    case 'ConnectionRefused':
    case 'ECONNREFUSED':
      return 'connection refused'
    case 'ConnectionReset':
    case 'ECONNRESET':
      return 'connection reset'
    case 'ConnectionClosed':
      return 'connection closed before a response'
    case 'FailedToOpenSocket':
      return 'failed to open socket'
    case 'ENOTFOUND':
    case 'DNSException':
      return `DNS lookup failed${e.message ? `: ${e.message}` : ''}`
  }
  const msg = e?.message ?? String(err)
  return e?.code ? `${e.code}: ${msg}` : msg
}
