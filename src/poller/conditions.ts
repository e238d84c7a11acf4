/**
 * Check conditions (SPEC.md "Targets file", `expect`): the accepted status set
 * (empty = any 2xx), `body_contains` and `max_latency`. Pure, so the real prober
 * and the tests share one definition of "ok". The first failed condition names
 * the error, in the order a person would look: status, body, then latency.
 */
import type { Expect } from '../config/types.ts'

export interface ConditionVerdict {
  ok: boolean
  error?: string
}

/** The passing verdict, shared: one per check would be garbage at 10,000 checks/s. */
const OK: ConditionVerdict = Object.freeze({ ok: true })

/** True when `expect` needs the response body read (otherwise it can be discarded unread). */
export const needsBody = (expect: Expect): boolean => expect.bodyContains !== undefined && expect.bodyContains !== ''

export function statusAccepted(expect: Expect, statusCode: number): boolean {
  return expect.status.length === 0 ? statusCode >= 200 && statusCode <= 299 : expect.status.includes(statusCode)
}

/** Judges one HTTP response. `body` is only consulted when `expect.bodyContains` is set. */
export function evaluateHttp(expect: Expect, statusCode: number, latencyMs: number, body?: string): ConditionVerdict {
  if (!statusAccepted(expect, statusCode)) {
    const want = expect.status.length === 0 ? '2xx' : expect.status.join('|')
    return { ok: false, error: `status ${statusCode}, expected ${want}` }
  }
  if (needsBody(expect) && !(body ?? '').includes(expect.bodyContains as string)) {
    return { ok: false, error: `body does not contain ${JSON.stringify(expect.bodyContains)}` }
  }
  return checkLatency(expect, latencyMs)
}

/** Judges a TCP connect (or any check with no status or body): only `max_latency` applies. */
export function checkLatency(expect: Expect, latencyMs: number): ConditionVerdict {
  if (expect.maxLatencyMs !== undefined && latencyMs > expect.maxLatencyMs) {
    return { ok: false, error: `latency ${Math.round(latencyMs)}ms above max ${expect.maxLatencyMs}ms` }
  }
  return OK
}
