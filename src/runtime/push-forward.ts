/**
 * The real ForwardPush (node/push-router.ts): a heartbeat handed to another member
 * over its HTTP API (`POST /v1/push/:id?forwarded=1` at the address its membership
 * metadata advertises), with this node's API token and a hard timeout.
 */
import type { ForwardPush } from '../node/push-router.ts'

export function httpForwardPush(o: { token?: string; timeoutMs: number }): ForwardPush {
  return async (member, id, beat) => {
    const addr = member.meta?.http
    if (!addr) throw new Error('advertises no HTTP address')
    const q = new URLSearchParams({ forwarded: '1', at: String(beat.at), status: beat.ok ? 'ok' : 'fail', ...(beat.msg ? { msg: beat.msg } : {}) })
    let res: Response
    try {
      res = await fetch(`http://${addr}/v1/push/${encodeURIComponent(id)}?${q}`, {
        method: 'POST',
        headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
        signal: AbortSignal.timeout(o.timeoutMs),
      })
      await res.arrayBuffer()
    } catch (e) {
      const err = e as { name?: string; message?: string }
      throw new Error(err.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : `unreachable at ${addr} (${err.message ?? String(e)})`)
    }
    if (res.status === 401 || res.status === 403) throw new Error(`refused the push (HTTP ${res.status}): give every agent the same --api-token, or the target a push token`)
    if (!res.ok) throw new Error(`answered HTTP ${res.status}`)
  }
}
