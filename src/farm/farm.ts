/**
 * `heck farm`: one Bun.serve port that plays N health endpoints (GET /t/<id>),
 * each healthy, failing, slow or flapping on demand, and counts the checks it
 * receives per endpoint and per checking node. It is the server side of the
 * tests and of the 10,000 checks/s benchmark, so a healthy check costs a URL
 * slice, a map lookup and a counter bump. Test and bench infrastructure that
 * ships in the binary: it is I/O edge code and uses Bun and real timers directly.
 */
import { SeededRng } from '../seams/rng.ts'
import { handleAdmin } from './admin.ts'
import { FarmCounters, TargetCounter } from './counters.ts'
import { decide, toMode, toSpec, type Mode, type ModeSpec } from './modes.ts'
import { renderTargetsYaml } from './targets-yaml.ts'
import type { Farm, FarmStats, StatsQuery, TargetStats } from './types.ts'

export type { Farm, FarmStats, StatsQuery, TargetStats }

export interface FarmOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number
  /** Listen address; default 127.0.0.1. */
  host?: string
  /** Endpoints /t/0 … /t/<count-1> that are listed in stats and targets files; default 100. Any other id-like path answers too. */
  count?: number
  /** Random outages: on average this many endpoints per second (of 0..count-1, healthy ones only) start failing; default 0 (off). */
  flapRate?: number
  /** How long a random outage lasts, [min, max] ms; default [2000, 10000]: long enough to cross a fall of 3 at 1 s intervals. */
  flapDownMs?: [number, number]
  /** Seed for flap decisions; default: random. */
  seed?: number | string
  /** Modes to apply at start (from --fail / --slow). */
  modes?: Array<{ ids: string[]; spec: ModeSpec }>
  /** Told about each random outage, for the CLI's log. */
  onFlap?: (id: string, downMs: number) => void
}

interface Endpoint {
  counter: TargetCounter
  /** null = healthy: the fast path. */
  mode: Mode | null
  /** Non-zero while a random outage owns the mode; an admin change clears it. */
  flapToken: number
}

const ID = /^[A-Za-z0-9._-]{1,128}$/
/** Bound on endpoints created on the fly by id-like paths. */
const MAX_ENDPOINTS = 1_000_000

export function startFarm(opts: FarmOptions = {}): Farm {
  const count = opts.count ?? 100
  const random = opts.seed === undefined ? Math.random : ((r) => () => r.next())(new SeededRng(opts.seed))
  const endpoints = new Map<string, Endpoint>()
  const counters = new FarmCounters(Date.now())
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const waiting = new Set<() => void>()
  let flapSeq = 0
  let stopped = false

  const endpoint = (id: string): Endpoint | undefined => {
    let ep = endpoints.get(id)
    if (ep === undefined && ID.test(id) && endpoints.size < MAX_ENDPOINTS) {
      ep = { counter: new TargetCounter(), mode: null, flapToken: 0 }
      endpoints.set(id, ep)
    }
    return ep
  }
  for (let i = 0; i < count; i++) endpoint(String(i))

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t)
      fn()
    }, ms)
    timers.add(t)
  }

  /** Resolves after ms, or at once when the farm stops or the client goes away. */
  const wait = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      let t: ReturnType<typeof setTimeout> | undefined
      const done = () => {
        if (t !== undefined) {
          clearTimeout(t)
          timers.delete(t)
        }
        waiting.delete(done)
        signal.removeEventListener('abort', done)
        resolve()
      }
      waiting.add(done)
      signal.addEventListener('abort', done)
      if (Number.isFinite(ms)) {
        t = setTimeout(done, ms)
        timers.add(t)
      }
    })

  const failResponse = (status: number, fault: string): Response => {
    if (fault === 'reset') {
      // An erroring body makes Bun drop the connection without a response: the client sees a reset.
      return new Response(new ReadableStream({ start: (c) => c.error(undefined) }))
    }
    if (fault === 'close') return new Response('fail\n', { status, headers: { connection: 'close' } })
    return new Response('fail\n', { status })
  }

  const check = (id: string, req: Request): Response | Promise<Response> => {
    const ep = endpoint(id)
    if (ep === undefined) return new Response('not found\n', { status: 404 })
    const now = Date.now()
    const ua = req.headers.get('user-agent')
    counters.record(ep.counter, ua, now)
    if (ep.mode === null) return new Response('ok\n')
    if (ep.mode.nodes && !ep.mode.nodes.includes(counters.nodeOf(ua))) return new Response('ok\n')
    const a = decide(ep.mode, now, random)
    if (a.kind === 'fail' && a.fault === 'hang') return wait(Infinity, req.signal).then(() => failResponse(503, 'reset'))
    const respond = () => (a.kind === 'ok' ? new Response('ok\n') : failResponse(a.status, a.fault))
    if (a.delayMs > 0) return wait(a.delayMs, req.signal).then(respond)
    return respond()
  }

  const stats = (q: StatsQuery = {}): FarmStats => {
    const out: FarmStats = { total: counters.total, startedAt: counters.startedAt, now: Date.now(), count, waiting: waiting.size, byNode: Object.fromEntries(counters.byNode) }
    if (q.target !== undefined) {
      const ep = endpoints.get(q.target)
      out.targets = ep ? { [q.target]: { ...ep.counter.toJSON(), mode: ep.mode ? toSpec(ep.mode) : { mode: 'ok' }, recent: ep.counter.recent() } } : {}
      return out
    }
    if (q.summary) return out
    const byTarget: Record<string, number> = {}
    const targets: Record<string, TargetStats> = {}
    for (const [id, ep] of endpoints) {
      byTarget[id] = ep.counter.count
      targets[id] = ep.counter.toJSON()
    }
    out.byTarget = byTarget
    out.targets = targets
    return out
  }

  const setMode = (ids: string | string[], spec: ModeSpec) => {
    const now = Date.now()
    for (const id of typeof ids === 'string' ? [ids] : ids) {
      const ep = endpoint(id)
      if (!ep) continue
      ep.flapToken = 0
      ep.mode = spec.mode === 'ok' && !spec.delay_ms ? null : toMode(spec, now, random)
    }
  }

  const heal = (ep: Endpoint) => {
    ep.mode = null
    ep.flapToken = 0
  }

  const reset = (what: 'all' | 'modes' | 'counters' = 'all') => {
    if (what !== 'counters') for (const ep of endpoints.values()) heal(ep)
    if (what !== 'modes') {
      counters.clear(Date.now())
      for (const ep of endpoints.values()) ep.counter = new TargetCounter()
    }
  }

  // Random outages (--flap RATE): a Poisson stream of "endpoint i fails for a while".
  const flapRate = opts.flapRate ?? 0
  const [downMin, downMax] = opts.flapDownMs ?? [2000, 10_000]
  const flapOnce = () => {
    const id = String(Math.floor(random() * count))
    const ep = endpoints.get(id)
    if (!ep || ep.mode !== null) return // never override a mode someone set on purpose
    const downMs = Math.round(downMin + random() * (downMax - downMin))
    ep.mode = toMode({ mode: 'fail', status: random() < 0.5 ? 503 : 500 }, Date.now(), random)
    const token = (ep.flapToken = ++flapSeq)
    opts.onFlap?.(id, downMs)
    later(downMs, () => {
      if (ep.flapToken === token) heal(ep)
    })
  }
  const scheduleFlap = () => {
    if (stopped || flapRate <= 0 || count <= 0) return
    later((-Math.log(1 - random()) / flapRate) * 1000, () => {
      flapOnce()
      scheduleFlap()
    })
  }

  for (const m of opts.modes ?? []) setMode(m.ids, m.spec)

  let farm: Farm
  const server = Bun.serve({
    port: opts.port ?? 0,
    hostname: opts.host ?? '127.0.0.1',
    development: false,
    // 0 = no idle limit: slow and hanging endpoints must not be cut by the server; clients own their timeouts.
    idleTimeout: 0,
    fetch(req) {
      const url = req.url
      const p = url.indexOf('/', url.indexOf('//') + 2)
      // '/t/' — the hot path, tested without building a URL object.
      if (url.charCodeAt(p + 1) === 116 && url.charCodeAt(p + 2) === 47) {
        const q = url.indexOf('?', p + 3)
        return check(q < 0 ? url.slice(p + 3) : url.slice(p + 3, q), req)
      }
      return handleAdmin(farm, req, new URL(url))
    },
  })
  const host = server.hostname ?? opts.host ?? '127.0.0.1'
  const port = server.port ?? 0
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
  const url = `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`

  farm = {
    port,
    host,
    url,
    count,
    async stop() {
      if (stopped) return
      stopped = true
      for (const t of timers) clearTimeout(t)
      timers.clear()
      for (const done of [...waiting]) done()
      await server.stop(true)
    },
    stats,
    setMode,
    mode: (id) => {
      const ep = endpoints.get(id)
      return ep ? (ep.mode ? toSpec(ep.mode) : { mode: 'ok' }) : undefined
    },
    reset,
    targetsYaml: (o = {}) => renderTargetsYaml({ baseUrl: url, count, ...o }),
  }
  scheduleFlap()
  return farm
}
