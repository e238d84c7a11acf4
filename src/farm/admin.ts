/**
 * The admin side of `heck farm` (everything not under /t/): change endpoint
 * modes, read the counters, reset, and fetch a matching targets file. Admin
 * requests are never counted as checks.
 *
 *   GET  /admin/stats[?summary=1|target=ID]   counters (JSON)
 *   GET  /admin/targets/<id>                  one endpoint: mode, counts, recent arrivals
 *   POST /admin/targets/<id>                  set its mode: {mode, status?, fault?, delay_ms?, period_ms?, rate?}
 *   POST /admin/targets                       same for many: {ids: [...]} or {from, to} plus the mode fields
 *   POST /admin/reset[?what=modes|counters]   everything healthy and/or counters to zero
 *   GET  /admin/targets.yaml?count=&interval=&timeout=&rise=&fall=&connection=&prefix=&start=
 *   GET  /admin/healthz                       200 "ok"
 */
import type { Farm } from './types.ts'
import { parseModeSpec, type ModeSpec } from './modes.ts'
import { MAX_FILE_TARGETS, targetsOptionsFromQuery } from './targets-yaml.ts'

const HELP = `heck farm: simulated health endpoints

  GET  /t/<id>                               a check (counted per endpoint and per node)
  GET  /admin/stats[?summary=1|target=ID]    counters (JSON)
  GET  /admin/targets/<id>                   one endpoint: mode, counts, recent arrivals
  POST /admin/targets/<id>                   set its mode: {"mode":"ok|fail|slow|flap","status":503,
                                             "fault":"status|reset|close|hang","delay_ms":..,"period_ms":..,"rate":..}
  POST /admin/targets                        same for many: {"ids":[..]} or {"from":0,"to":99} plus mode fields
  POST /admin/reset[?what=modes|counters]    back to healthy and/or zero counters
  GET  /admin/targets.yaml?count=N&interval=1s[&timeout=&rise=&fall=&connection=new&prefix=t&start=0]
`

/** Admin bodies are small; anything bigger is a mistake. */
const MAX_BODY_BYTES = 1 << 20

const json = (body: unknown, status = 200) => Response.json(body, { status })
const error = (status: number, msg: string) => json({ error: msg }, status)

async function readJson(req: Request): Promise<unknown | { error: string }> {
  const text = await req.text()
  if (text.length > MAX_BODY_BYTES) return { error: 'body too large' }
  if (text.trim() === '') return {}
  try {
    return JSON.parse(text) as unknown
  } catch {
    return { error: 'body is not valid JSON' }
  }
}

const isErr = (v: unknown): v is { error: string } =>
  typeof v === 'object' && v !== null && typeof (v as { error?: unknown }).error === 'string' && Object.keys(v).length === 1

async function setModes(farm: Farm, req: Request, id: string | undefined): Promise<Response> {
  const body = await readJson(req)
  if (isErr(body)) return error(body.error === 'body too large' ? 413 : 400, body.error)
  const spec = parseModeSpec(body)
  if ('error' in spec) return error(400, spec.error)
  let ids: string[]
  if (id !== undefined) ids = [id]
  else {
    const b = body as { ids?: unknown; from?: unknown; to?: unknown }
    if (Array.isArray(b.ids) && b.ids.every((x) => typeof x === 'string' || typeof x === 'number')) ids = b.ids.map(String)
    else if (Number.isInteger(b.from) && Number.isInteger(b.to) && (b.to as number) >= (b.from as number) && (b.to as number) - (b.from as number) < MAX_FILE_TARGETS) {
      ids = []
      for (let i = b.from as number; i <= (b.to as number); i++) ids.push(String(i))
    } else return error(400, 'give "ids": [..] or integer "from" and "to"')
  }
  const { mode, status, fault, delay_ms, period_ms, rate } = spec
  const clean: ModeSpec = { mode }
  Object.assign(clean, Object.fromEntries(Object.entries({ status, fault, delay_ms, period_ms, rate }).filter(([, v]) => v !== undefined)))
  farm.setMode(ids, clean)
  return json({ ids: ids.length > 100 ? ids.length : ids, mode: id !== undefined ? farm.mode(id) : clean })
}

export async function handleAdmin(farm: Farm, req: Request, url: URL): Promise<Response> {
  const path = url.pathname
  const get = req.method === 'GET' || req.method === 'HEAD'
  if (path === '/' || path === '/admin' || path === '/admin/') return new Response(HELP)
  if (path === '/admin/healthz' && get) return new Response('ok\n')
  if (path === '/admin/stats' && get) {
    const target = url.searchParams.get('target')
    const summary = url.searchParams.get('summary')
    return json(farm.stats({ summary: summary !== null && summary !== '0', ...(target !== null ? { target } : {}) }))
  }
  if (path === '/admin/targets.yaml' && get) {
    const o = targetsOptionsFromQuery(url.searchParams, farm.url, farm.count)
    if ('error' in o) return error(400, o.error)
    return new Response(farm.targetsYaml(o), { headers: { 'content-type': 'application/yaml' } })
  }
  if (path === '/admin/reset' && req.method === 'POST') {
    const what = url.searchParams.get('what') ?? 'all'
    if (what !== 'all' && what !== 'modes' && what !== 'counters') return error(400, 'what must be all, modes or counters')
    farm.reset(what)
    return json({ reset: what })
  }
  if (path === '/admin/targets' && req.method === 'POST') return setModes(farm, req, undefined)
  if (path.startsWith('/admin/targets/')) {
    const id = decodeURIComponent(path.slice('/admin/targets/'.length))
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(id)) return error(400, `bad endpoint id "${id}"`)
    if (req.method === 'POST') return setModes(farm, req, id)
    if (get) {
      const s = farm.stats({ target: id }).targets?.[id]
      return s ? json({ id, ...s }) : error(404, `endpoint "${id}" has not been seen`)
    }
  }
  return error(404, `no such farm route: ${req.method} ${path} (GET / lists them)`)
}
