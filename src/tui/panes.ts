/**
 * Pure renderers for the other panes: the header (cluster at a glance), the
 * members table, the detail pane of one target, the event log and help.
 * Each returns tagged lines for blessed; none touches the terminal.
 */
import { DASH, bold, clean, escapeTags, fit, formatAge, formatCount, formatLatency, formatRate, paint, sparkline, statusColour } from './format.ts'
import type { TuiDetail, TuiEvent, TuiMember, TuiState } from './types.ts'

export interface HeaderStats {
  members: Record<'alive' | 'suspect' | 'dead' | 'left', number> | null
  targets: Record<'healthy' | 'unhealthy' | 'unknown', number>
}

export function headerStats(state: TuiState): HeaderStats {
  const targets = { healthy: 0, unhealthy: 0, unknown: 0 }
  for (const t of state.targets.values()) {
    if (t.status === 'healthy' || t.status === 'unhealthy') targets[t.status]++
    else targets.unknown++
  }
  let members: HeaderStats['members'] = null
  if (state.members) {
    members = { alive: 0, suspect: 0, dead: 0, left: 0 }
    for (const m of state.members) if (m.state in members) members[m.state as keyof typeof members]++
  }
  return { members, targets }
}

/** `width` drops the agent's address from the first line when the terminal is too narrow for it. */
export function headerLines(state: TuiState, stats: HeaderStats, now: number, noColor: boolean, title = 'heck', width = 200): string[] {
  const conn = state.connected ? paint('connected', 'green', noColor) : paint('disconnected', 'red', noColor)
  const node = escapeTags(state.node ?? DASH)
  const rates = `${formatCount(state.checksPerSec)} checks/s  gossip ${formatRate(state.gossipBytesPerSec)}  data ${state.newestDataAt === null ? DASH : `${formatAge(state.newestDataAt, now)} old`}`
  const problem = state.lastError && !state.connected ? `  ${escapeTags(clean(state.lastError)).slice(0, 60)}` : ''
  const plainLength = title.length + node.length + state.source.length + rates.length + 30
  const where = plainLength <= width ? ` @ ${escapeTags(state.source)}` : ''
  const first = `${bold(escapeTags(title), noColor)}  node ${bold(node, noColor)}${where}  ${conn}${problem}  │ ${rates}`
  const m = stats.members
  const members = m
    ? `members ${paint(`${m.alive} alive`, 'green', noColor)} ${paint(`${m.suspect} suspect`, 'yellow', noColor)} ${paint(`${m.dead} dead`, 'red', noColor)} ${paint(`${m.left} left`, 'gray', noColor)}`
    : `members ${DASH}`
  const t = stats.targets
  const targets = `targets ${paint(`${t.healthy} healthy`, 'green', noColor)} ${paint(`${t.unhealthy} unhealthy`, 'red', noColor)} ${paint(`${t.unknown} unknown`, 'yellow', noColor)}`
  return [first, `${members}  │ ${targets}`]
}

export const MEMBER_COLUMNS = [
  { title: 'NAME', width: 24 },
  { title: 'ADDRESS', width: 22 },
  { title: 'STATE', width: 8 },
  { title: 'INC', width: 6, right: true },
  { title: 'OWNED', width: 7, right: true },
  { title: 'HEALTH', width: 6, right: true },
] as const

function memberWidths(width: number): number[] {
  const fixed = MEMBER_COLUMNS.slice(1).reduce((s, c) => s + c.width + 1, 0)
  const ws: number[] = MEMBER_COLUMNS.map((c) => c.width)
  ws[0] = Math.max(8, Math.min(40, width - fixed))
  return ws
}

export function memberHeader(width: number, noColor: boolean): string {
  const ws = memberWidths(width)
  const s = MEMBER_COLUMNS.map((c, i) => fit(c.title, ws[i] as number, 'right' in c)).join(' ')
  return bold(escapeTags(s), noColor)
}

export function memberLines(members: TuiMember[] | null, top: number, selected: number, height: number, width: number, noColor: boolean): string[] {
  if (!members) return [`  ${DASH} membership not reported by this agent yet`]
  const ws = memberWidths(width)
  const out: string[] = []
  const end = Math.min(members.length, top + height)
  for (let i = top; i < end; i++) {
    const mb = members[i] as TuiMember
    const cells = [mb.name, mb.addr ?? DASH, mb.state, mb.incarnation === null ? DASH : String(mb.incarnation), mb.owned === null ? DASH : String(mb.owned), mb.health === null ? DASH : String(mb.health)]
    const line = cells
      .map((c, j) => {
        const text = escapeTags(fit(c, ws[j] as number, j >= 3))
        return j === 2 ? paint(text, statusColour(mb.state), noColor) : text
      })
      .join(' ')
    out.push(i === selected ? `{inverse}${line}{/inverse}` : line)
  }
  return out
}

/** Detail pane: owners in priority order, a latency sparkline, last results and state changes. */
export function detailLines(d: TuiDetail | null, id: string | null, width: number, now: number, noColor: boolean): string[] {
  if (!id) return ['no target selected']
  if (!d || d.id !== id) return [bold(escapeTags(id), noColor), '', 'loading…']
  const out: string[] = []
  out.push(`${bold(escapeTags(d.id), noColor)}  ${paint(d.status, statusColour(d.status), noColor)} for ${formatAge(d.since, now)}`)
  if (d.check) out.push(escapeTags(fit(clean(d.check), width)))
  if (d.partial) {
    const why = d.partial.length > 0 ? `${d.partial[0]}${d.partial.length > 1 ? ` (+${d.partial.length - 1} more)` : ''}` : 'a member did not answer'
    out.push(paint(escapeTags(fit(`partial: ${clean(why)}`, width)), 'yellow', noColor))
  }
  if (d.flapping) out.push(paint('flapping: notifications held until it settles', 'yellow', noColor))
  if (d.confirmation) {
    const saw = Object.entries(d.confirmation.saw).map(([n, v]) => `${n} ${v}`).join(', ')
    const what = d.confirmation.outcome === 'disagreed' ? 'seen failing from one place only' : `confirmed (${d.confirmation.outcome})`
    out.push(escapeTags(fit(`confirmation: ${what}: ${saw}`, width)))
  }
  if (d.uptime) {
    const pct = (v: number | null) => (v === null ? DASH : `${(v * 100).toFixed(v >= 0.9995 || v === 0 ? 0 : 2)}%`)
    out.push(`uptime  1h ${pct(d.uptime.h1)}  24h ${pct(d.uptime.h24)}  7d ${pct(d.uptime.d7)}`)
  }
  out.push('')
  out.push(bold('owners (priority order)', noColor))
  if (!d.owners || d.owners.length === 0) out.push(`  ${DASH}`)
  else d.owners.forEach((o, i) => out.push(`  ${i + 1}. ${escapeTags(o)}${o === d.owner ? ' (checks it now)' : ''}`))
  out.push('')
  const lat = d.recent.map((r) => r.latencyMs)
  const nums = lat.filter((v): v is number => v !== null)
  out.push(bold('latency', noColor) + (nums.length ? `  min ${formatLatency(Math.min(...nums))} max ${formatLatency(Math.max(...nums))}` : ''))
  out.push(`  ${paint(sparkline(lat, Math.max(4, width - 4)) || DASH, 'cyan', noColor)}`)
  out.push('')
  out.push(bold('last results', noColor))
  if (d.recent.length === 0) out.push(`  ${DASH}`)
  for (const r of d.recent.slice(-8).reverse()) {
    const ok = r.ok ? paint('ok  ', 'green', noColor) : paint('fail', 'red', noColor)
    const code = r.statusCode === null ? '' : ` ${r.statusCode}`
    const err = r.error ? ` ${clean(r.error)}` : ''
    const tail = `${formatAge(r.checkedAt, now).padStart(6)} ago ${formatLatency(r.latencyMs).padStart(7)}${code} ${r.checker ?? ''}${err}`
    out.push(`  ${ok} ${escapeTags(fit(tail, Math.max(10, width - 7)))}`)
  }
  out.push('')
  out.push(bold('state changes', noColor))
  if (d.transitions.length === 0) out.push(`  ${DASH}`)
  for (const t of d.transitions.slice(-6).reverse()) {
    out.push(`  ${formatAge(t.at, now).padStart(6)} ago ${paint(t.from, statusColour(t.from), noColor)} → ${paint(t.to, statusColour(t.to), noColor)}`)
  }
  return out
}

function clock(at: number): string {
  const d = new Date(at)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** The newest `height` events, oldest at the top, newest at the bottom (like a log). */
export function eventLines(events: TuiEvent[], height: number, width: number, noColor: boolean): string[] {
  return events.slice(-Math.max(0, height)).map((e) => {
    const text = escapeTags(fit(clean(e.text), Math.max(5, width - 10)))
    const coloured = e.state ? paint(text, statusColour(e.state), noColor) : e.kind === 'error' ? paint(text, 'red', noColor) : text
    return `${clock(e.at)} ${coloured}`
  })
}

export function helpLines(demo: boolean): string[] {
  const lines = [
    'keys',
    '  ↑/↓ or j/k     move            PgUp/PgDn  page      g/G  top/bottom',
    '  Enter          open/close the detail pane of the selected target',
    '  Tab            switch between Targets and Members',
    '  /              filter (type, Enter to keep, Esc to clear)',
    '  u              unhealthy targets only (toggle)',
    '  s / S          cycle sort column and direction / reverse direction',
    '  ?              this help      q  quit',
  ]
  if (demo) {
    lines.push(
      '',
      'demo',
      "  K              kill the selected member, or the selected target's owner",
      '  R              restart the selected member, or the last one killed',
      '  F              flip the selected target (healthy ↔ failing)',
    )
  }
  lines.push('', 'any key closes this help')
  return lines
}

