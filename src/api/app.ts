/**
 * The embedded HTTP API (SPEC.md "HTTP API"), built with hono. Read endpoints
 * answer from this node's copy of the replicated state; write endpoints follow
 * the token-or-loopback rule, and with --api-read-token reads need a token too.
 * Errors are always `{"error", "detail"}` JSON. A definition leaves only in its
 * public form (target-form.ts publicForm: the targets-file form, secrets redacted).
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import { ConfigError, ID_PATTERN, validateTarget } from '../config/targets-file.ts'
import { publicForm } from '../config/target-form.ts'
import type { ApiDeps } from './deps.ts'
import { requireReadAccess, requireWriteAccess } from './auth.ts'
import { eventsRoute } from './sse.ts'
import { pageQuery, paginate } from './paging.ts'
import { pushRoutes } from './push.ts'
import { parseSilence, SilenceError, type Silence } from '../alerts/silence.ts'

/** Largest accepted request body: one target definition is far below this. */
export const MAX_BODY_BYTES = 64 * 1024

const STATUSES = new Set(['healthy', 'unhealthy', 'unknown'])

const fail = (c: Context, status: 400 | 401 | 403 | 404 | 413 | 500 | 503, error: string, detail?: unknown) =>
  c.json({ error, detail: detail ?? null }, status)

/**
 * A write the store could not make as safe as a 2xx promises (SPEC.md "What a 2xx
 * promises"): 503, saying why. It may still take effect; retrying it is safe.
 */
const notAcknowledged = (c: Context, e: unknown) =>
  fail(c, 503, 'write not acknowledged', e instanceof Error ? e.message : String(e))

export function createApp(deps: ApiDeps) {
  const app = new Hono()

  /** Every answer names the node and how old its newest data is. */
  const meta = () => {
    const at = deps.newestObservationAt()
    return { node: deps.node, data_age_ms: at === null ? null : Math.max(0, deps.clock.now() - at) }
  }

  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      if (err.status === 413) return fail(c, 413, 'request body too large', { max_bytes: MAX_BODY_BYTES })
      return fail(c, err.status as 400, err.message || 'request failed')
    }
    return fail(c, 500, 'internal error', err instanceof Error ? err.message : String(err))
  })
  app.notFound((c) => fail(c, 404, 'no such endpoint', { method: c.req.method, path: c.req.path }))

  app.get('/healthz', (c) => {
    const warnings = deps.warnings?.() ?? []
    const store = deps.store?.()
    return c.json({ ok: true, node: deps.node, version: deps.version, ...(store ? { store } : {}), ...(warnings.length > 0 ? { warnings } : {}) })
  })

  // Pushes carry their own token rule (push.ts), so they come before the read-token rule.
  pushRoutes(app, deps)

  // Everything below /healthz: with --api-read-token, reads (and writes) need a token.
  app.use('*', requireReadAccess(deps))

  app.get('/v1/health', (c) => {
    const status = c.req.query('status')
    const owner = c.req.query('owner')
    if (status !== undefined && !STATUSES.has(status)) {
      return fail(c, 400, 'bad status filter', { status, allowed: [...STATUSES] })
    }
    const page = pageQuery(c.req.query('limit'), c.req.query('after'))
    if (typeof page === 'string') return fail(c, 400, page, { limit: c.req.query('limit'), after: c.req.query('after') })
    let targets = deps.health()
    if (status) targets = targets.filter((t) => t.status === status)
    if (owner) targets = targets.filter((t) => t.owner === owner)
    if (!page) return c.json({ ...meta(), targets })
    return c.json({ ...meta(), ...paginate(targets, page) })
  })

  app.get('/v1/targets/:id', async (c) => {
    const id = c.req.param('id')
    // ?local=1: this node's own view only, without asking the other members.
    const t = deps.story && c.req.query('local') !== '1' ? await deps.story(id) : deps.target(id)
    if (!t) return fail(c, 404, 'no such target', { id })
    return c.json({ ...meta(), target: { ...t, definition: publicForm(t.definition) } })
  })

  app.get('/v1/targets/:id/part', (c) => {
    const id = c.req.param('id')
    const p = deps.part?.(id)
    if (!p) return fail(c, 404, 'no such target', { id })
    return c.json(p)
  })

  const write = new Hono()
  write.use('*', requireWriteAccess(deps))
  write.use('*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => fail(c, 413, 'request body too large', { max_bytes: MAX_BODY_BYTES }) }))

  write.post('/v1/targets', async (c) => {
    let body: unknown
    try {
      body = await c.req.json()
    } catch (e) {
      return fail(c, 400, 'invalid JSON', e instanceof Error ? e.message : String(e))
    }
    let target
    try {
      target = validateTarget(body)
    } catch (e) {
      if (e instanceof ConfigError) return fail(c, 400, 'invalid target', e.problems)
      throw e
    }
    let replaced: boolean
    try {
      replaced = await deps.putTarget(target)
    } catch (e) {
      return notAcknowledged(c, e)
    }
    return c.json({ ...meta(), target: publicForm(target), replaced }, 201)
  })

  write.delete('/v1/targets/:id', async (c) => {
    const id = c.req.param('id')
    if (!ID_PATTERN.test(id)) return fail(c, 400, 'bad target id', { id })
    let removed: boolean
    try {
      removed = await deps.deleteTarget(id)
    } catch (e) {
      return notAcknowledged(c, e)
    }
    if (!removed) return fail(c, 404, 'no such target', { id })
    return c.body(null, 204)
  })

  // Another node asks this one to look at a target from here (confirm: N).
  write.post('/v1/targets/:id/probe', async (c) => {
    const id = c.req.param('id')
    const o = await deps.probeOnce?.(id)
    if (!o) return fail(c, 404, 'no such target', { id })
    return c.json({ node: deps.node, target: id, ok: o.ok, latency_ms: o.latencyMs, ...(o.statusCode !== undefined ? { status_code: o.statusCode } : {}), ...(o.error ? { error: o.error } : {}) })
  })

  write.post('/v1/silences', async (c) => {
    if (!deps.putSilence) return fail(c, 404, 'silences are not kept by this node')
    let body: unknown
    try {
      body = await c.req.json()
    } catch (e) {
      return fail(c, 400, 'invalid JSON', e instanceof Error ? e.message : String(e))
    }
    let s: Silence
    try {
      s = parseSilence(body, deps.clock.now(), deps.node, () => deps.newSilenceId?.() ?? `s-${deps.clock.now().toString(36)}`)
    } catch (e) {
      if (e instanceof SilenceError) return fail(c, 400, 'invalid silence', e.problems)
      throw e
    }
    try {
      await deps.putSilence(s)
    } catch (e) {
      return notAcknowledged(c, e)
    }
    return c.json({ ...meta(), silence: s }, 201)
  })

  write.delete('/v1/silences/:id', async (c) => {
    const id = c.req.param('id')
    let removed: boolean
    try {
      removed = (await deps.deleteSilence?.(id)) ?? false
    } catch (e) {
      return notAcknowledged(c, e)
    }
    if (!removed) return fail(c, 404, 'no such silence', { id })
    return c.body(null, 204)
  })

  write.post('/v1/leave', (c) => {
    deps.leave()
    return c.json({ ...meta(), leaving: true }, 202)
  })

  app.route('/', write)

  app.get('/v1/silences', (c) => c.json({ ...meta(), silences: deps.silences?.() ?? [] }))

  app.get('/v1/members', (c) => c.json({ ...meta(), members: deps.members() }))

  app.get('/v1/ownership', (c) => {
    const target = c.req.query('target')
    if (target !== undefined) {
      if (!deps.target(target)) return fail(c, 404, 'no such target', { id: target })
      return c.json({ ...meta(), target, owners: deps.owners(target) })
    }
    return c.json({ ...meta(), ownership: deps.ownershipMap() })
  })

  app.get('/v1/events', eventsRoute(deps))

  app.get('/metrics', (c) =>
    c.body(deps.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
  )

  return app
}
