/**
 * Tolerant readers for the agent's answers (SPEC.md "HTTP API"): anything
 * missing or of the wrong type becomes null rather than an exception, so the
 * TUI works against older agents and before membership or ownership land.
 */
import type { TuiDetail, TuiMember, TuiResult, TuiTarget } from './types.ts'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

export function parseTarget(v: unknown): TuiTarget | null {
  if (!isObj(v)) return null
  const id = str(v.id)
  if (!id) return null
  const last = isObj(v.last) ? v.last : null
  return {
    id,
    status: str(v.status) ?? 'unknown',
    since: num(v.since),
    owner: str(v.owner),
    latencyMs: last ? num(last.latency_ms) : null,
    lastError: last ? str(last.error) : null,
    checkedAt: last ? num(last.checked_at) : null,
  }
}

export function parseHealth(body: unknown): { node: string | null; dataAgeMs: number | null; targets: TuiTarget[] } {
  if (!isObj(body)) return { node: null, dataAgeMs: null, targets: [] }
  const list = Array.isArray(body.targets) ? body.targets : []
  const targets: TuiTarget[] = []
  for (const t of list) {
    const p = parseTarget(t)
    if (p) targets.push(p)
  }
  return { node: str(body.node), dataAgeMs: num(body.data_age_ms), targets }
}

export function parseMember(v: unknown): TuiMember | null {
  if (!isObj(v)) return null
  const name = str(v.name)
  if (!name) return null
  return { name, addr: str(v.addr), state: str(v.state) ?? 'alive', incarnation: num(v.incarnation), owned: num(v.owned), health: num(v.health) }
}

export function parseMembers(body: unknown): TuiMember[] | null {
  if (!isObj(body) || !Array.isArray(body.members)) return null
  const out: TuiMember[] = []
  for (const m of body.members) {
    const p = parseMember(m)
    if (p) out.push(p)
  }
  return out
}

function parseResult(v: unknown): TuiResult | null {
  if (!isObj(v)) return null
  return {
    ok: v.ok === true,
    latencyMs: num(v.latency_ms),
    statusCode: num(v.status_code),
    error: str(v.error),
    checkedAt: num(v.checked_at),
    checker: str(v.checker),
  }
}

function describeCheck(def: unknown): string | null {
  if (!isObj(def)) return null
  const c = isObj(def.check) ? def.check : def
  if (c.kind === 'http' || typeof c.url === 'string') return `${str(c.method) ?? 'GET'} ${str(c.url) ?? ''}`.trim()
  if (c.kind === 'tcp') return `tcp ${str(c.host) ?? ''}:${num(c.port) ?? ''}`
  if (typeof c.tcp === 'string') return `tcp ${c.tcp}`
  if (isObj(def.push)) return `push heartbeats, grace ${str(def.push.grace) ?? '?'}`
  if (c.kind === 'push') return 'push heartbeats'
  return null
}

/** `GET /v1/targets/:id` answers `{target: {...}}`; a bare target object is accepted too. */
export function parseDetail(body: unknown): TuiDetail | null {
  const t = isObj(body) && isObj(body.target) ? body.target : body
  if (!isObj(t)) return null
  const id = str(t.id)
  if (!id) return null
  const recent: TuiResult[] = []
  if (Array.isArray(t.recent)) for (const r of t.recent) {
    const p = parseResult(r)
    if (p) recent.push(p)
  }
  const transitions: TuiDetail['transitions'] = []
  if (Array.isArray(t.transitions)) for (const x of t.transitions) {
    if (isObj(x) && num(x.at) !== null) transitions.push({ at: num(x.at) as number, from: str(x.from) ?? '?', to: str(x.to) ?? '?' })
  }
  return {
    id,
    status: str(t.status) ?? 'unknown',
    since: num(t.since),
    owners: Array.isArray(t.owners) ? t.owners.filter((o): o is string => typeof o === 'string') : null,
    owner: str(t.owner),
    recent,
    transitions,
    check: describeCheck(t.definition),
    uptime: isObj(t.uptime) ? { h1: num(t.uptime.h1), h24: num(t.uptime.h24), d7: num(t.uptime.d7) } : null,
    partial: t.partial === true ? (Array.isArray(t.partial_reasons) ? t.partial_reasons.filter((r): r is string => typeof r === 'string') : []) : null,
    flapping: t.flapping === true,
    confirmation:
      isObj(t.confirmation) && typeof t.confirmation.outcome === 'string' && isObj(t.confirmation.saw)
        ? { outcome: t.confirmation.outcome, saw: Object.fromEntries(Object.entries(t.confirmation.saw).filter((e): e is [string, string] => typeof e[1] === 'string')) }
        : null,
  }
}

/**
 * Sums every sample of the named counters in a Prometheus text exposition
 * (all label sets together). Missing metrics are absent from the answer.
 */
export function sumCounters(text: string, names: string[]): Map<string, number> {
  const want = new Set(names)
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line || line.charCodeAt(0) === 35 /* # */) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
    if (!m || !want.has(m[1] as string)) continue
    const v = Number(m[3])
    if (!Number.isFinite(v)) continue
    out.set(m[1] as string, (out.get(m[1] as string) ?? 0) + v)
  }
  return out
}

/** One parsed SSE message. */
export interface SseMessage {
  event: string
  data: string
}

/**
 * Incremental Server-Sent Events parser (WHATWG EventSource rules, minus ids
 * and retry): feed it text chunks, it returns the complete messages so far.
 */
export class SseParser {
  private buf = ''
  private event = ''
  private data: string[] = []

  feed(chunk: string): SseMessage[] {
    this.buf += chunk
    const out: SseMessage[] = []
    let nl: number
    while ((nl = this.buf.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buf.slice(0, nl)
      const sepLen = this.buf.startsWith('\r\n', nl) ? 2 : 1
      // A lone \r at the end of a chunk may be half of \r\n: wait for more.
      if (sepLen === 1 && this.buf[nl] === '\r' && nl === this.buf.length - 1) break
      this.buf = this.buf.slice(nl + sepLen)
      if (line === '') {
        if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') })
        this.event = ''
        this.data = []
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'event') this.event = value
      else if (field === 'data') this.data.push(value)
    }
    return out
  }
}
