/**
 * `POST /v1/push/:id` (SPEC.md "Push heartbeats"): a job reports in, to any node.
 * Allowed with the target's own push token (which allows nothing else), or under the
 * write rule like any other write (auth.ts). Registered ahead of the read-token rule,
 * so a job needs no read token. `?status=ok|fail` (default ok) and `?msg=` (or a
 * plain-text body) say how the job went.
 */
import type { Context, Hono } from 'hono'
import { ID_PATTERN } from '../config/targets-file.ts'
import { MAX_PUSH_MSG } from '../node/push-ledger.ts'
import { bearer, requireReadAccess, requireWriteAccess, tokenMatches } from './auth.ts'
import type { ApiDeps } from './deps.ts'

/** Largest push body: a short message; more is refused, as a job that sends its log is misconfigured. */
export const MAX_PUSH_BODY = 4096
/** How far (ms) a forwarding member's arrival time may lie from this node's clock before it is replaced by now. */
const MAX_FORWARD_SKEW_MS = 60_000

export function pushRoutes(app: Hono, deps: ApiDeps): void {
  const read = requireReadAccess(deps)
  const write = requireWriteAccess(deps)
  const fail = (c: Context, status: 400 | 404 | 409 | 413 | 503, error: string, detail?: unknown) =>
    c.json({ node: deps.node, error, ...(detail !== undefined ? { detail } : {}) }, status)

  app.post('/v1/push/:id', async (c) => {
    const id = c.req.param('id')
    if (!ID_PATTERN.test(id) || !deps.push) return fail(c, 404, 'no such target', { id })
    const t = deps.target(id)
    if (!t) return fail(c, 404, 'no such target', { id, detail: 'add it with push: {grace: DURATION} first' })
    if (t.definition.check.kind !== 'push') return fail(c, 409, 'not a push target', { id, detail: `${id} is checked by polling; pushes go to targets defined with push: {grace: ...}` })
    const given = bearer(c.req.header('authorization'))
    const byPushToken = given !== undefined && deps.pushTokenMatches !== undefined && (await deps.pushTokenMatches(t.definition, given))
    const handle = async (): Promise<Response> => {
      const len = Number(c.req.header('content-length') ?? 0)
      if (len > MAX_PUSH_BODY) return fail(c, 413, 'push body too large', { max_bytes: MAX_PUSH_BODY })
      const body = await c.req.text()
      if (body.length > MAX_PUSH_BODY) return fail(c, 413, 'push body too large', { max_bytes: MAX_PUSH_BODY })
      const status = c.req.query('status') ?? 'ok'
      if (status !== 'ok' && status !== 'fail') return fail(c, 400, 'bad status', { status, allowed: ['ok', 'fail'] })
      let msg = c.req.query('msg') ?? (body.trim() || undefined)
      if (msg && msg.length > MAX_PUSH_MSG) msg = `${msg.slice(0, MAX_PUSH_MSG - 1)}…`
      const now = deps.clock.now()
      // A member forwarding a push says when it arrived there; only nodes (write rule) may.
      const forwarded = c.req.query('forwarded') === '1' && !byPushToken
      const at = forwarded ? Number(c.req.query('at')) : now
      const arrived = Number.isFinite(at) && Math.abs(at - now) <= MAX_FORWARD_SKEW_MS ? at : now
      try {
        const heldBy = await (deps.push as NonNullable<ApiDeps['push']>)(id, { at: arrived, ok: status === 'ok', ...(msg ? { msg } : {}) }, { forwarded, bearer: given })
        return c.json({ node: deps.node, target: id, held_by: heldBy, received_at: arrived })
      } catch (e) {
        return fail(c, 503, 'push not taken', e instanceof Error ? e.message : String(e))
      }
    }
    if (byPushToken) return handle()
    let out: Response | undefined
    const denied = await read(c, async () => {
      const deniedWrite = await write(c, async () => {
        out = await handle()
      })
      if (deniedWrite) out = deniedWrite
    })
    return (denied as Response | undefined) ?? (out as Response)
  })
}
