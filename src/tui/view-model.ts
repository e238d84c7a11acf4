/**
 * The pure targets view: state + UI choices → the filtered, sorted list, and
 * the visible slice of it as tagged lines. Only the rows on screen are ever
 * formatted (virtualised), and the sorted list is memoised on the data
 * version, so 10,000 targets cost one sort per data change, not per key press.
 */
import { DASH, escapeTags, clean, fit, formatAge, formatLatency, paint, statusColour } from './format.ts'
import type { TuiState, TuiTarget } from './types.ts'
import type { SortKey, UiState } from './ui-state.ts'

/** Worst first: ascending status sort puts problems on top. */
const STATUS_RANK: Record<string, number> = { unhealthy: 0, unknown: 1, healthy: 2 }

const nullsLast = (a: number | null, b: number | null, dir: number) =>
  a === null ? (b === null ? 0 : 1) : b === null ? -1 : (a - b) * dir

function strCmp(a: string | null, b: string | null, dir: number): number {
  if (a === null || a === '') return b === null || b === '' ? 0 : 1
  if (b === null || b === '') return -1
  return (a < b ? -1 : a > b ? 1 : 0) * dir
}

export function compareTargets(key: SortKey, dir: 1 | -1): (a: TuiTarget, b: TuiTarget) => number {
  const byId = (a: TuiTarget, b: TuiTarget) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  const primary = ((): ((a: TuiTarget, b: TuiTarget) => number) => {
    switch (key) {
      case 'id':
        return (a, b) => byId(a, b) * dir
      case 'status':
        return (a, b) => ((STATUS_RANK[a.status] ?? 3) - (STATUS_RANK[b.status] ?? 3)) * dir
      case 'owner':
        return (a, b) => strCmp(a.owner, b.owner, dir)
      case 'latency':
        return (a, b) => nullsLast(a.latencyMs, b.latencyMs, dir)
      // "since" ascending = most recent change first (shortest time in state).
      case 'since':
        return (a, b) => nullsLast(a.since, b.since, -dir)
      case 'error':
        return (a, b) => strCmp(a.lastError, b.lastError, dir)
    }
  })()
  return (a, b) => primary(a, b) || byId(a, b)
}

/** Matches id, owner and last error; status has its own key (`u`), and "healthy" would match "unhealthy". */
export function matchesFilter(t: TuiTarget, needle: string): boolean {
  if (!needle) return true
  const n = needle.toLowerCase()
  return (
    t.id.toLowerCase().includes(n) ||
    (t.owner?.toLowerCase().includes(n) ?? false) ||
    (t.lastError?.toLowerCase().includes(n) ?? false)
  )
}

export function deriveTargets(targets: Iterable<TuiTarget>, ui: Pick<UiState, 'sortKey' | 'sortDir' | 'filter' | 'unhealthyOnly'>): TuiTarget[] {
  const out: TuiTarget[] = []
  for (const t of targets) {
    if (ui.unhealthyOnly && t.status !== 'unhealthy') continue
    if (!matchesFilter(t, ui.filter)) continue
    out.push(t)
  }
  return out.sort(compareTargets(ui.sortKey, ui.sortDir))
}

/** Memoises deriveTargets on (data version, sort, filter, unhealthy-only). */
export class TargetList {
  private key = ''
  private rows: TuiTarget[] = []
  derivations = 0

  get(state: TuiState, ui: UiState): TuiTarget[] {
    const key = `${state.targetsVersion}|${ui.sortKey}|${ui.sortDir}|${ui.unhealthyOnly}|${ui.filter}`
    if (key !== this.key) {
      this.rows = deriveTargets(state.targets.values(), ui)
      this.key = key
      this.derivations++
    }
    return this.rows
  }
}

export interface Column {
  key: SortKey
  title: string
  width: number
  right?: boolean
}

/**
 * Column widths for a terminal `width` columns wide. Narrow terminals drop
 * the least important columns first (error, owner, since), keeping id and status.
 */
export function targetColumns(width: number): Column[] {
  const w = Math.max(10, width)
  const status = 9
  const cols: Column[] = [
    { key: 'id', title: 'ID', width: 0 },
    { key: 'status', title: 'STATUS', width: status },
  ]
  let rest = w - status - 1
  const optional: Column[] = [
    { key: 'latency', title: 'LATENCY', width: 8, right: true },
    { key: 'since', title: 'SINCE', width: 7, right: true },
    { key: 'owner', title: 'OWNER', width: w >= 110 ? 16 : 12 },
  ]
  for (const c of optional) {
    if (rest - (c.width + 1) < 12) break
    cols.push(c)
    rest -= c.width + 1
  }
  let idWidth = rest
  if (rest >= 12 + 1 + 10) {
    idWidth = Math.min(Math.max(12, Math.floor(rest * 0.45)), 40)
    cols.push({ key: 'error', title: 'LAST ERROR', width: rest - idWidth - 1 })
  }
  ;(cols[0] as Column).width = idWidth
  // Keep the order of the issue: id, status, owner, latency, since, last error.
  const order: SortKey[] = ['id', 'status', 'owner', 'latency', 'since', 'error']
  return cols.sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key))
}

export function headerLine(cols: Column[], ui: Pick<UiState, 'sortKey' | 'sortDir'>, noColor: boolean): string {
  const s = cols
    .map((c) => {
      const mark = c.key === ui.sortKey ? (ui.sortDir === 1 ? '▲' : '▼') : ''
      return fit(c.title + mark, c.width, c.right)
    })
    .join(' ')
  return noColor ? s : `{bold}${escapeTags(s)}{/bold}`
}

export function targetCell(t: TuiTarget, key: SortKey, now: number): string {
  switch (key) {
    case 'id':
      return t.id
    case 'status':
      return t.status
    case 'owner':
      return t.owner ?? DASH
    case 'latency':
      return formatLatency(t.latencyMs)
    case 'since':
      return formatAge(t.since, now)
    case 'error':
      return t.lastError ? clean(t.lastError) : DASH
  }
}

export function targetLine(t: TuiTarget, cols: Column[], now: number, noColor: boolean, selected: boolean): string {
  const cells = cols.map((c) => {
    const text = escapeTags(fit(targetCell(t, c.key, now), c.width, c.right))
    return c.key === 'status' ? paint(text, statusColour(t.status), noColor) : text
  })
  const line = cells.join(' ')
  // A selection marker that survives NO_COLOR and monochrome terminals, plus inverse video.
  return selected ? `{inverse}${line}{/inverse}` : line
}

/** The visible slice only: at most `height` formatted lines, whatever the list length. */
export function visibleTargetLines(rows: TuiTarget[], ui: Pick<UiState, 'top' | 'selected'>, height: number, cols: Column[], now: number, noColor: boolean): string[] {
  const out: string[] = []
  const end = Math.min(rows.length, ui.top + Math.max(0, height))
  for (let i = ui.top; i < end; i++) out.push(targetLine(rows[i] as TuiTarget, cols, now, noColor, i === ui.selected))
  return out
}

/** Re-finds the selected target after the list changed, so the cursor stays on it. */
export function resolveSelection(rows: TuiTarget[], ui: UiState): number {
  if (ui.selectedId !== null) {
    // Cheap check first: most frames the row did not move.
    if (rows[ui.selected]?.id === ui.selectedId) return ui.selected
    const i = rows.findIndex((t) => t.id === ui.selectedId)
    if (i >= 0) return i
  }
  return Math.min(ui.selected, Math.max(0, rows.length - 1))
}
