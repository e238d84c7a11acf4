/**
 * Renders a targets file (SPEC.md "Targets file") that points at a running
 * `heck farm`, so tests and benchmarks get a matching file without writing one
 * by hand: endpoint i is served at /t/<i> and becomes target `<prefix><i>`.
 */
import { parseDuration } from '../config/duration.ts'
import type { ConnectionMode } from '../config/types.ts'

export interface TargetsFileOptions {
  /** The farm's base URL, e.g. http://127.0.0.1:8081. */
  baseUrl: string
  /** How many targets, starting at endpoint `start` (default 0). */
  count: number
  start?: number
  /** Target id prefix; default "t" (endpoint 7 → id "t7"). */
  prefix?: string
  intervalMs?: number
  timeoutMs?: number
  rise?: number
  fall?: number
  connection?: ConnectionMode
}

/** Most targets one file may hold (the agent refuses more than 200,000). */
export const MAX_FILE_TARGETS = 200_000

export function renderTargetsYaml(o: TargetsFileOptions): string {
  const start = o.start ?? 0
  const prefix = o.prefix ?? 't'
  const lines = [`# targets for heck farm at ${o.baseUrl}: endpoint /t/<i> is target ${prefix}<i>`, 'defaults:']
  lines.push(`  interval: ${o.intervalMs ?? 1000}ms`)
  if (o.timeoutMs !== undefined) lines.push(`  timeout: ${o.timeoutMs}ms`)
  if (o.rise !== undefined) lines.push(`  rise: ${o.rise}`)
  if (o.fall !== undefined) lines.push(`  fall: ${o.fall}`)
  if (o.connection !== undefined) lines.push(`  connection: ${o.connection}`)
  if (o.count <= 0) {
    lines.push('targets: []')
  } else {
    lines.push('targets:')
    for (let i = start; i < start + o.count; i++) lines.push(`  - { id: ${prefix}${i}, url: "${o.baseUrl}/t/${i}" }`)
  }
  return `${lines.join('\n')}\n`
}

/** Reads `?count=&start=&prefix=&interval=&timeout=&rise=&fall=&connection=` as sent to /admin/targets.yaml. */
export function targetsOptionsFromQuery(q: URLSearchParams, baseUrl: string, defaultCount: number): TargetsFileOptions | { error: string } {
  const o: TargetsFileOptions = { baseUrl, count: defaultCount }
  const int = (name: string, min: number, max: number): number | undefined | { error: string } => {
    const v = q.get(name)
    if (v === null) return undefined
    const n = Number(v)
    if (!/^\d+$/.test(v) || n < min || n > max) return { error: `${name} must be an integer ${min}-${max}` }
    return n
  }
  const dur = (name: string): number | undefined | { error: string } => {
    const v = q.get(name)
    if (v === null) return undefined
    const d = parseDuration(v)
    return typeof d === 'number' ? d : { error: `${name}: ${d.error}` }
  }
  const ints = { count: int('count', 0, MAX_FILE_TARGETS), start: int('start', 0, 1e9), rise: int('rise', 1, 1000), fall: int('fall', 1, 1000) }
  const durs = { intervalMs: dur('interval'), timeoutMs: dur('timeout') }
  for (const v of [...Object.values(ints), ...Object.values(durs)]) if (typeof v === 'object') return v
  if (ints.count !== undefined) o.count = ints.count as number
  if (ints.start !== undefined) o.start = ints.start as number
  if (ints.rise !== undefined) o.rise = ints.rise as number
  if (ints.fall !== undefined) o.fall = ints.fall as number
  if (durs.intervalMs !== undefined) o.intervalMs = durs.intervalMs as number
  if (durs.timeoutMs !== undefined) o.timeoutMs = durs.timeoutMs as number
  const prefix = q.get('prefix')
  if (prefix !== null) {
    if (!/^[A-Za-z0-9._-]{0,100}$/.test(prefix)) return { error: 'prefix may hold only A-Z a-z 0-9 . _ - (at most 100)' }
    o.prefix = prefix
  }
  const conn = q.get('connection')
  if (conn !== null) {
    if (conn !== 'reuse' && conn !== 'new') return { error: 'connection must be reuse or new' }
    o.connection = conn
  }
  return o
}
