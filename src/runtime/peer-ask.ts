/**
 * The real AskPeer (node/story.ts): a member's part of a target's story over its HTTP
 * API (`GET /v1/targets/:id/part` at the address its membership metadata advertises),
 * with this node's token and a hard timeout, so an answer never waits on a slow member.
 */
import { asHistoryPart, type AskPeer } from '../node/story.ts'

export function httpAskPeer(o: { token?: string; timeoutMs: number }): AskPeer {
  return async (member, id) => {
    const addr = member.meta?.http
    if (!addr) throw new Error('advertises no HTTP address')
    let res: Response
    try {
      res = await fetch(`http://${addr}/v1/targets/${encodeURIComponent(id)}/part`, {
        headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
        signal: AbortSignal.timeout(o.timeoutMs),
      })
    } catch (e) {
      const err = e as { name?: string; message?: string }
      throw new Error(err.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : `unreachable at ${addr} (${err.message ?? String(e)})`)
    }
    if (res.status === 401) throw new Error(`refused the request (HTTP 401): give every agent the same --api-read-token / --api-token`)
    if (!res.ok) throw new Error(`answered HTTP ${res.status}`)
    return asHistoryPart(await res.json(), member.name)
  }
}
