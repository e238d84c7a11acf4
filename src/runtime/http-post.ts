/** The real Poster for webhooks: fetch with a timeout. */
import type { Poster } from '../alerts/webhooks.ts'

export const fetchPoster: Poster = async (url, headers, body, timeoutMs) => {
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) })
  await res.arrayBuffer().catch(() => undefined) // drain, so the connection can be reused
  return res.status
}
