/**
 * The access rules from SPEC.md: with --api-token, writes need the bearer token;
 * without one, they are accepted only from loopback, so a fresh agent on a
 * shared network cannot be reconfigured by a neighbour. With --api-read-token,
 * every endpoint but `GET /healthz` needs the read token or the write token
 * (RFC 6750 bearer tokens, which Prometheus' scrape config sends too).
 */
import type { MiddlewareHandler } from 'hono'
import { getConnInfo } from 'hono/bun'
import { timingSafeEqual } from 'node:crypto'
import type { ApiDeps } from './deps.ts'

export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.')
}

export function tokenMatches(given: string, want: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(want)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The bearer token a request carries, or undefined. */
export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '')
  return m ? (m[1] as string) : undefined
}

const READ_FIX = "send Authorization: Bearer <token> with the agent's --api-read-token or --api-token (heck status, members, owners and tui take --token TOKEN or HECK_TOKEN)"

export function requireReadAccess(deps: Pick<ApiDeps, 'apiToken' | 'apiReadToken'>): MiddlewareHandler {
  return async (c, next) => {
    if (!deps.apiReadToken || (c.req.path === '/healthz' && c.req.method === 'GET')) return next()
    const given = bearer(c.req.header('authorization'))
    const ok = given !== undefined && (tokenMatches(given, deps.apiReadToken) || (deps.apiToken !== undefined && tokenMatches(given, deps.apiToken)))
    if (!ok) {
      c.header('WWW-Authenticate', 'Bearer realm="heck"')
      return c.json({ error: given === undefined ? 'unauthorized: this agent needs a token to read' : 'unauthorized: wrong token', detail: READ_FIX }, 401)
    }
    return next()
  }
}

export function requireWriteAccess(deps: Pick<ApiDeps, 'apiToken' | 'apiReadToken'>): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next()
    if (deps.apiToken) {
      const given = bearer(c.req.header('authorization'))
      if (given === undefined || !tokenMatches(given, deps.apiToken)) {
        const readOnly = given !== undefined && deps.apiReadToken !== undefined && tokenMatches(given, deps.apiReadToken)
        c.header('WWW-Authenticate', 'Bearer realm="heck"')
        return c.json(
          {
            error: readOnly ? 'unauthorized: the read token does not allow writes' : 'unauthorized',
            detail: "send Authorization: Bearer <token> (the agent's --api-token)",
          },
          401,
        )
      }
      return next()
    }
    let remote: string | undefined
    try {
      remote = getConnInfo(c).remote.address
    } catch {
      remote = undefined // no socket info (e.g. an in-process request): treat as not loopback
    }
    if (!isLoopback(remote)) {
      return c.json({ error: 'forbidden', detail: 'write endpoints answer only on loopback unless the agent runs with --api-token' }, 403)
    }
    return next()
  }
}
