/**
 * The TUI's data source: polls the agent's HTTP API (health, members,
 * metrics, and the selected target's detail) and follows `GET /v1/events`
 * (Server-Sent Events) with reconnect and backoff; an agent at its stream limit
 * (503, Retry-After) is waited out for at least the time it asks, with jitter so
 * a crowd of clients does not come back in step. It only updates a
 * TuiState and calls `onChange`; the app decides when to draw, so 100 events
 * per second cost 100 map updates, not 100 frames.
 */
import type { Clock } from '../seams/clock.ts'
import { SeededRng, type Rng } from '../seams/rng.ts'
import { parseDetail, parseHealth, parseMembers, SseParser, sumCounters } from './parse.ts'
import { emptyState, MAX_EVENTS, type TuiEvent, type TuiState } from './types.ts'

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string
  clock: Clock
  onChange: () => void
  /** How often health, members and metrics are re-read (ms), at least; events arrive in between. Default 2000; slower for large clusters (healthIntervalMs). */
  pollIntervalMs?: number
  /** How often the open detail pane is re-read (ms). Default 1000. */
  detailIntervalMs?: number
  /** Other agents to switch to, in turn, when the current one stops answering (heck demo passes every node). */
  fallbackUrls?: string[]
  /** Per-request timeout (ms). Default 3000. */
  requestTimeoutMs?: number
  /** Bearer token sent with every request (`--token`, HECK_TOKEN): the agent's --api-read-token or --api-token. */
  token?: string
  fetch?: typeof fetch
  /** Jitter for waits after a 503; seeded from the clock when absent (decorrelates clients; no real randomness here). */
  rng?: Rng
}

/** Longest (ms) a Retry-After is obeyed, so a broken agent cannot park the event stream for hours. */
const MAX_RETRY_AFTER_MS = 300_000
/** Waits after a 503 are stretched by up to this share, at random, so refused clients spread out. */
const RETRY_JITTER = 0.5

/** Retry-After as ms from now: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | null {
  if (header === null) return null
  const v = header.trim()
  if (/^\d+$/.test(v)) return Math.min(MAX_RETRY_AFTER_MS, Number(v) * 1000)
  const at = Date.parse(v)
  return Number.isNaN(at) ? null : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - nowMs))
}

const CHECKS = 'heck_checks_total'
const GOSSIP = 'heck_gossip_bytes_total'

export class TuiClient {
  readonly state: TuiState
  private stopped = false
  private cancels = new Set<() => void>()
  private sseAbort: AbortController | null = null
  private detailId: string | null = null
  private refreshSoon = false
  private urls: string[]
  private urlIndex = 0
  private backoffMs = 500
  private lastCounters: { at: number; checks?: number; gossip?: number } | null = null
  private readonly fetch: typeof fetch
  private readonly pollMs: number
  private readonly detailMs: number
  private readonly timeoutMs: number
  private readonly rng: Rng
  private readonly auth: Record<string, string>

  constructor(private readonly opts: ClientOptions) {
    this.urls = [opts.baseUrl, ...(opts.fallbackUrls ?? [])].map((u) => u.replace(/\/$/, ''))
    this.urls = this.urls.filter((u, i) => this.urls.indexOf(u) === i)
    this.state = emptyState(this.urls[0] as string)
    this.fetch = opts.fetch ?? fetch
    this.pollMs = opts.pollIntervalMs ?? 2000
    this.detailMs = opts.detailIntervalMs ?? 1000
    this.timeoutMs = opts.requestTimeoutMs ?? 3000
    this.rng = opts.rng ?? new SeededRng(opts.clock.now() >>> 0)
    this.auth = opts.token ? { authorization: `Bearer ${opts.token}` } : {}
  }

  start(): void {
    // The second poll comes sooner, so rates (checks/s, gossip) show within half a second.
    this.loop(() => this.poll(), () => this.healthIntervalMs(), Math.min(500, this.pollMs))
    this.loop(() => this.pollDetail(), () => this.detailMs)
    void this.follow()
  }

  stop(): void {
    this.stopped = true
    for (const c of this.cancels) c()
    this.sseAbort?.abort()
  }

  /** Which target the detail pane shows (null closes it); it is fetched at once. */
  setDetail(id: string | null): void {
    if (id === this.detailId) return
    this.detailId = id
    if (id) void this.pollDetail()
  }

  /** Re-reads everything now (after a demo action, for example). */
  refresh(): Promise<void> {
    return this.poll()
  }

  /**
   * Large clusters are re-read less often (0.5 ms per target, up to 10 s): the full
   * answer costs both sides CPU, and status changes arrive as events in between.
   */
  healthIntervalMs(): number {
    return Math.min(10_000, Math.max(this.pollMs, this.state.targets.size / 2))
  }

  private loop(fn: () => Promise<void>, everyMs: () => number, firstGapMs?: number): void {
    let first = true
    const tick = async () => {
      if (this.stopped) return
      await fn()
      if (!this.stopped) this.timer(first && firstGapMs !== undefined ? firstGapMs : everyMs(), tick)
      first = false
    }
    void tick()
  }

  private timer(ms: number, fn: () => void): void {
    const cancel = this.opts.clock.after(ms, () => {
      this.cancels.delete(cancel)
      fn()
    })
    this.cancels.add(cancel)
  }

  private async get(path: string): Promise<Response> {
    return this.fetch(`${this.state.source}${path}`, { signal: AbortSignal.timeout(this.timeoutMs), headers: this.auth })
  }

  private async poll(): Promise<void> {
    const s = this.state
    const [health, members, metrics] = await Promise.allSettled([this.get('/v1/health'), this.get('/v1/members'), this.get('/metrics')])
    const now = this.opts.clock.now()
    try {
      if (health.status === 'rejected') throw health.reason
      if (health.value.status === 401) throw new Error(`GET /v1/health answered 401: the agent needs a token to read; pass --token TOKEN or set HECK_TOKEN`)
      if (!health.value.ok) throw new Error(`GET /v1/health answered ${health.value.status}`)
      const h = parseHealth(await health.value.json())
      s.node = h.node ?? s.node
      s.newestDataAt = h.dataAgeMs === null ? null : now - h.dataAgeMs
      const next = new Map<string, (typeof h.targets)[number]>()
      for (const t of h.targets) next.set(t.id, t)
      s.targets = next
      s.targetsVersion++
      s.connected = true
      s.lastError = null
    } catch (e) {
      this.fail(e)
    }
    try {
      if (members.status === 'fulfilled' && members.value.ok) s.members = parseMembers(await members.value.json()) ?? s.members
      else if (members.status === 'fulfilled' && members.value.status === 404) s.members = null
    } catch {
      // Membership is optional: the view shows "-".
    }
    try {
      if (metrics.status === 'fulfilled' && metrics.value.ok) this.rates(await metrics.value.text(), this.opts.clock.monotonic())
    } catch {
      // Metrics are optional too.
    }
    this.opts.onChange()
  }

  private rates(text: string, at: number): void {
    const c = sumCounters(text, [CHECKS, GOSSIP])
    const cur = { at, checks: c.get(CHECKS), gossip: c.get(GOSSIP) }
    const prev = this.lastCounters
    this.lastCounters = cur
    if (!prev || cur.at <= prev.at) return
    const dt = (cur.at - prev.at) / 1000
    const rate = (a?: number, b?: number) => (a === undefined || b === undefined || b < a ? null : (b - a) / dt)
    this.state.checksPerSec = rate(prev.checks, cur.checks)
    this.state.gossipBytesPerSec = rate(prev.gossip, cur.gossip)
  }

  private async pollDetail(): Promise<void> {
    const id = this.detailId
    if (!id) return
    try {
      const res = await this.get(`/v1/targets/${encodeURIComponent(id)}`)
      if (id !== this.detailId) return
      if (!res.ok) {
        this.state.detail = { id, status: this.state.targets.get(id)?.status ?? 'unknown', since: null, owners: null, owner: null, recent: [], transitions: [], check: `(detail unavailable: HTTP ${res.status})`, uptime: null, partial: null }
      } else {
        this.state.detail = parseDetail(await res.json())
      }
      this.opts.onChange()
    } catch {
      // The next tick retries; the pane keeps its last answer.
    }
  }

  private fail(e: unknown): void {
    const s = this.state
    const msg = e instanceof Error ? e.message : String(e)
    if (s.connected || s.lastError !== msg) this.log({ at: this.opts.clock.now(), kind: 'error', text: `cannot reach ${s.source}: ${msg}` })
    s.connected = false
    s.lastError = msg
    if (this.urls.length > 1) this.switchAgent()
  }

  /** Moves to the next agent in the list: polls and the event stream follow it. */
  private switchAgent(): void {
    this.urlIndex = (this.urlIndex + 1) % this.urls.length
    this.state.source = this.urls[this.urlIndex] as string
    this.log({ at: this.opts.clock.now(), kind: 'info', text: `switching to ${this.state.source}` })
    this.backoffMs = 500
    this.sseAbort?.abort()
    this.timer(200, () => void this.poll())
  }

  log(e: TuiEvent): void {
    const ev = this.state.events
    ev.push(e)
    // Trim in batches so a busy stream does not shift the array on every event.
    if (ev.length > MAX_EVENTS + 100) ev.splice(0, ev.length - MAX_EVENTS)
  }

  /**
   * Follows /v1/events forever, reconnecting with backoff (0.5 s doubling to 5 s). A 503
   * (the agent serves its --max-event-streams already) waits at least its Retry-After,
   * stretched by jitter; the first refusal of a streak is logged, so the user knows why
   * no live events come while the polls go on.
   */
  private async follow(): Promise<void> {
    let refused = false
    while (!this.stopped) {
      const ac = new AbortController()
      this.sseAbort = ac
      let waitMs = this.backoffMs
      try {
        const res = await this.fetch(`${this.state.source}/v1/events`, { signal: ac.signal, headers: { accept: 'text/event-stream', ...this.auth } })
        if (res.status === 503) {
          const after = retryAfterMs(res.headers.get('retry-after'), this.opts.clock.now()) ?? 0
          waitMs = Math.round(Math.max(after, this.backoffMs) * (1 + RETRY_JITTER * this.rng.next()))
          if (!refused) {
            const why = await res
              .json()
              .then((b) => (b && typeof b === 'object' && typeof (b as { error?: unknown }).error === 'string' ? (b as { error: string }).error : 'HTTP 503'))
              .catch(() => 'HTTP 503')
            this.log({ at: this.opts.clock.now(), kind: 'info', text: `event stream refused by ${this.state.source}: ${why}; retrying in ${Math.ceil(waitMs / 1000)} s` })
            this.opts.onChange()
          }
          refused = true
          throw new Error('GET /v1/events answered 503')
        }
        if (!res.ok || !res.body) throw new Error(`GET /v1/events answered ${res.status}`)
        refused = false
        this.backoffMs = 500
        const parser = new SseParser()
        const decoder = new TextDecoder()
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          for (const m of parser.feed(decoder.decode(chunk, { stream: true }))) this.onMessage(m.event, m.data)
          if (this.stopped) break
        }
      } catch {
        // Logged through the poller's error path (or above, for a 503); here we only retry.
      }
      if (this.stopped) break
      await new Promise<void>((r) => this.timer(waitMs, r))
      this.backoffMs = Math.min(5000, this.backoffMs * 2)
    }
  }

  /** An extra poll in 300 ms, once per burst of requests. */
  private pollSoon(): void {
    if (this.refreshSoon) return
    this.refreshSoon = true
    this.timer(300, () => {
      this.refreshSoon = false
      void this.poll()
    })
  }

  /** Applies one event to the state. Public for tests. */
  onMessage(event: string, data: string): void {
    let d: Record<string, unknown>
    try {
      const v = JSON.parse(data) as unknown
      if (typeof v !== 'object' || v === null) return
      d = v as Record<string, unknown>
    } catch {
      return
    }
    const s = this.state
    const at = this.opts.clock.now()
    const str = (v: unknown) => (typeof v === 'string' ? v : null)
    if (event === 'hello') {
      s.node = str(d.node) ?? s.node
      return
    }
    if (event === 'health') {
      const id = str(d.id)
      const status = str(d.status) ?? 'unknown'
      if (!id) return
      const t = s.targets.get(id)
      const since = typeof d.since === 'number' ? d.since : at
      const error = str(d.error)
      if (t) {
        t.status = status
        t.since = since
        if (error) t.lastError = error
      } else {
        s.targets.set(id, { id, status, since, owner: null, latencyMs: null, lastError: error, checkedAt: null })
      }
      s.targetsVersion++
      const prev = str(d.previous)
      const checker = str(d.checker)
      this.log({ at, kind: 'health', state: status, text: `${id} ${prev ? `${prev} → ` : ''}${status}${checker ? ` (by ${checker})` : ''}${error ? `: ${error}` : ''}` })
    } else if (event === 'member') {
      const name = str(d.name)
      const state = str(d.state) ?? 'alive'
      if (!name) return
      const m = s.members?.find((x) => x.name === name)
      if (m) m.state = state
      else (s.members ??= []).push({ name, addr: str(d.addr), state, incarnation: null, owned: null, health: null })
      const prev = str(d.previous)
      this.log({ at, kind: 'member', state, text: `member ${name} ${prev ? `${prev} → ` : ''}${state}` })
    } else if (event === 'confirmation') {
      const saw = typeof d.saw === 'object' && d.saw !== null ? Object.entries(d.saw as Record<string, unknown>).map(([n, v]) => `${n} ${String(v)}`).join(', ') : ''
      this.log({ at, kind: 'health', state: 'unknown', text: `${str(d.id) ?? '?'} seen failing from one place only (${saw}); status kept` })
    } else if (event === 'target') {
      this.log({ at, kind: 'target', text: `target ${str(d.id) ?? '?'} ${str(d.action) ?? 'changed'}` })
      // Added or removed targets show up at the next poll; bring it forward.
      this.pollSoon()
    } else if (event === 'dropped') {
      this.log({ at, kind: 'info', text: `event stream: ${String(d.count)} events dropped (TUI too slow); re-reading` })
      this.pollSoon()
    } else {
      return
    }
    this.opts.onChange()
  }
}
