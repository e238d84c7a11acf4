/**
 * The real ProbePeer (node/node.ts, confirm: N): asks a member to probe a target once,
 * now (`POST /v1/targets/:id/probe` at the address its membership metadata advertises),
 * with this node's write token and a hard timeout.
 */
import type { ProbePeer } from '../node/node.ts'

export function httpProbePeer(o: { token?: string }): ProbePeer {
  return async (member, id, timeoutMs) => {
    const addr = member.meta?.http
    if (!addr) throw new Error('advertises no HTTP address')
    const res = await fetch(`http://${addr}/v1/targets/${encodeURIComponent(id)}/probe`, {
      method: 'POST',
      headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (!res.ok) throw new Error(`answered HTTP ${res.status}`)
    const b = (await res.json()) as { ok?: unknown; latency_ms?: unknown; error?: unknown }
    if (typeof b.ok !== 'boolean') throw new Error('answered without a result')
    return { ok: b.ok, latencyMs: typeof b.latency_ms === 'number' ? b.latency_ms : 0, ...(typeof b.error === 'string' ? { error: b.error } : {}) }
  }
}
