/**
 * Behaviour of one simulated endpoint in `heck farm`: healthy, failing, slow or
 * flapping. A mode is set through the admin endpoint or a start flag; each
 * request asks `decide()` what to do now. Decisions are lazy (computed at
 * request time from the clock and a random source), so a farm of 10,000
 * endpoints needs no timer per endpoint.
 */

export type ModeKind = 'ok' | 'fail' | 'slow' | 'flap'

/**
 * How a failing endpoint fails:
 * - `status`: answers with `status` (default 503);
 * - `reset`: drops the connection without answering (the client sees ECONNRESET);
 * - `close`: answers with `status` and `Connection: close`, so a reused connection is lost too;
 * - `hang`: never answers; the client's timeout has to fire.
 */
export type Fault = 'status' | 'reset' | 'close' | 'hang'

/** The wire form, as POSTed to /admin/targets/<id> (snake_case like the targets file). */
export interface ModeSpec {
  mode: ModeKind
  /** Status code of a failing answer; default 503. */
  status?: number
  fault?: Fault
  /** Delay before answering, for `slow` (default 1000) and on top of any mode. */
  delay_ms?: number
  /** `flap`: alternate fail/ok every period_ms (first period fails). Default 1000 unless `rate` is set. */
  period_ms?: number
  /** `flap`: instead of a fixed period, toggle at random with this many toggles per second on average. */
  rate?: number
  /** Only checks from these heck nodes (by the User-Agent's node name) get this mode; others get ok. Trouble near some checkers. */
  nodes?: string[]
}

/** The normalised, in-memory form. */
export interface Mode {
  kind: ModeKind
  status: number
  fault: Fault
  delayMs: number
  periodMs: number
  ratePerS: number
  /** When the mode was set (ms); flap phases count from here. */
  sinceMs: number
  /** Random flap: current half (true = failing) and when it next toggles. */
  down: boolean
  nextToggleMs: number
  /** See ModeSpec.nodes. */
  nodes?: string[]
}

/** What one request gets. */
export type Action =
  | { kind: 'ok'; delayMs: number }
  | { kind: 'fail'; status: number; fault: Fault; delayMs: number }

export const OK_MODE: ModeSpec = { mode: 'ok' }

const KINDS = new Set<ModeKind>(['ok', 'fail', 'slow', 'flap'])
const FAULTS = new Set<Fault>(['status', 'reset', 'close', 'hang'])
const SPEC_FIELDS = new Set(['mode', 'status', 'fault', 'delay_ms', 'period_ms', 'rate', 'nodes'])
/** Longest delay accepted: longer than any sensible check timeout, short enough not to pin memory forever. */
const MAX_DELAY_MS = 600_000

/** Validates an admin request body; returns the spec or a one-line reason. */
export function parseModeSpec(raw: unknown): ModeSpec | { error: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { error: 'body must be a JSON object like {"mode":"fail"}' }
  const o = raw as Record<string, unknown>
  for (const k of Object.keys(o)) if (!SPEC_FIELDS.has(k) && k !== 'ids' && k !== 'from' && k !== 'to') return { error: `unknown field "${k}"` }
  if (typeof o.mode !== 'string' || !KINDS.has(o.mode as ModeKind)) return { error: 'mode must be one of ok, fail, slow, flap' }
  const spec: ModeSpec = { mode: o.mode as ModeKind }
  if (o.status !== undefined) {
    if (!Number.isInteger(o.status) || (o.status as number) < 100 || (o.status as number) > 599) return { error: 'status must be an integer 100-599' }
    spec.status = o.status as number
  }
  if (o.fault !== undefined) {
    if (typeof o.fault !== 'string' || !FAULTS.has(o.fault as Fault)) return { error: 'fault must be one of status, reset, close, hang' }
    spec.fault = o.fault as Fault
  }
  for (const k of ['delay_ms', 'period_ms'] as const) {
    if (o[k] === undefined) continue
    const v = o[k]
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_DELAY_MS) return { error: `${k} must be a number 0-${MAX_DELAY_MS}` }
    spec[k] = v
  }
  if (spec.period_ms === 0) return { error: 'period_ms must be above 0' }
  if (o.rate !== undefined) {
    if (typeof o.rate !== 'number' || !(o.rate > 0) || o.rate > 1000) return { error: 'rate must be a number of toggles per second, above 0 and at most 1000' }
    spec.rate = o.rate
  }
  if (o.nodes !== undefined) {
    if (!Array.isArray(o.nodes) || o.nodes.length === 0 || !o.nodes.every((n) => typeof n === 'string' && n !== '')) return { error: 'nodes must be a non-empty list of heck node names' }
    spec.nodes = o.nodes as string[]
  }
  return spec
}

export function toMode(spec: ModeSpec, nowMs: number, random: () => number): Mode {
  const ratePerS = spec.mode === 'flap' ? (spec.rate ?? 0) : 0
  return {
    kind: spec.mode,
    status: spec.status ?? 503,
    fault: spec.fault ?? 'status',
    delayMs: spec.delay_ms ?? (spec.mode === 'slow' ? 1000 : 0),
    periodMs: spec.period_ms ?? 1000,
    ratePerS,
    sinceMs: nowMs,
    down: true,
    nextToggleMs: ratePerS > 0 ? nowMs + expDelayMs(ratePerS, random) : Infinity,
    ...(spec.nodes ? { nodes: [...spec.nodes] } : {}),
  }
}

/** The spec a mode came from, for the admin API. */
export function toSpec(m: Mode): ModeSpec {
  const s: ModeSpec = { mode: m.kind }
  if (m.kind === 'fail' || m.kind === 'flap') {
    s.status = m.status
    s.fault = m.fault
  }
  if (m.delayMs > 0) s.delay_ms = m.delayMs
  if (m.kind === 'flap') {
    if (m.ratePerS > 0) s.rate = m.ratePerS
    else s.period_ms = m.periodMs
  }
  if (m.nodes) s.nodes = [...m.nodes]
  return s
}

const expDelayMs = (ratePerS: number, random: () => number) => (-Math.log(1 - random()) / ratePerS) * 1000

/** Whether a flapping mode is in its failing half at `nowMs`. Mutates the random-flap state. */
export function isDown(m: Mode, nowMs: number, random: () => number): boolean {
  if (m.kind === 'fail') return true
  if (m.kind !== 'flap') return false
  if (m.ratePerS > 0) {
    // Catch up on the toggles that happened since the last request (bounded, in case of a long quiet spell).
    for (let i = 0; nowMs >= m.nextToggleMs && i < 10_000; i++) {
      m.down = !m.down
      m.nextToggleMs += expDelayMs(m.ratePerS, random)
    }
    if (nowMs >= m.nextToggleMs) m.nextToggleMs = nowMs + expDelayMs(m.ratePerS, random)
    return m.down
  }
  return Math.floor((nowMs - m.sinceMs) / m.periodMs) % 2 === 0
}

export function decide(m: Mode, nowMs: number, random: () => number): Action {
  if (isDown(m, nowMs, random)) return { kind: 'fail', status: m.status, fault: m.fault, delayMs: m.delayMs }
  return { kind: 'ok', delayMs: m.delayMs }
}
