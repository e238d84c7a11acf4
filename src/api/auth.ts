/**
 * The write rule from SPEC.md: with --api-token, writes need the bearer token;
 * without one, they are accepted only from loopback, so a fresh agent on a
 * shared network cannot be reconfigured by a neighbour.
 */
import type { MiddlewareHandler } from 'hono'
import { getConnInfo } from 'hono/bun'
import { timingSafeEqual } from 'node:crypto'
import type { ApiDeps } from './deps.ts'

export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.')
}

function tokenMatches(given: string, want: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(want)
  return a.length === b.length && timingSafeEqual(a, b)
}

export function requireWriteAccess(deps: Pick<ApiDeps, 'apiToken'>): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next()
    if (deps.apiToken) {
      const auth = c.req.header('authorization') ?? ''
      const m = /^Bearer\s+(.+)$/i.exec(auth)
      if (!m || !tokenMatches(m[1] as string, deps.apiToken)) {
        return c.json({ error: 'unauthorized', detail: 'send Authorization: Bearer <token> (the agent\'s --api-token)' }, 401)
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
