/**
 * The real Poster for webhooks (src/alerts/webhooks.ts): fetch with a timeout. Its
 * signature is the Poster's, written out so this adapter imports nothing above it.
 */
export async function fetchPoster(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) })
  await res.arrayBuffer().catch(() => undefined) // drain, so the connection can be reused
  return res.status
}
