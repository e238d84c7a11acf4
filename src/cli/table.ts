import type { TargetHealth } from '../node/types.ts'

/** Plain-text tables for the CLI: left-aligned columns, two spaces apart, no colour. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

/** The target table of `heck status` and the demo's plain view. */
export function healthTable(targets: TargetHealth[], now: number): string {
  const rows = targets.map((t) => [
    t.id,
    t.status,
    t.owner ?? '-',
    t.last ? `${Math.round(t.last.latency_ms)}ms` : '-',
    ago(t.since, now),
    [t.flapping ? '[flapping]' : '', disagreement(t), t.last?.error ?? ''].filter(Boolean).join(' '),
  ])
  return renderTable(['ID', 'STATUS', 'OWNER', 'LATENCY', 'SINCE', 'NOTE / LAST ERROR'], rows)
}

/** "[failing only from n1: n2 ok]" while the last confirmation disagreed (confirm: N). */
function disagreement(t: TargetHealth): string {
  const c = t.confirmation
  if (!c || c.outcome !== 'disagreed' || t.status === 'unhealthy') return ''
  const fail = Object.entries(c.saw).filter(([, v]) => v === 'fail').map(([n]) => n)
  const rest = Object.entries(c.saw).filter(([, v]) => v !== 'fail').map(([n, v]) => `${n} ${v}`)
  return `[failing only from ${fail.join(', ')}: ${rest.join(', ')}]`
}

/** "12 targets: 10 healthy, 1 unhealthy, 1 unknown". */
export function healthSummary(targets: TargetHealth[]): string {
  const count = (s: string) => targets.filter((t) => t.status === s).length
  return `${targets.length} targets: ${count('healthy')} healthy, ${count('unhealthy')} unhealthy, ${count('unknown')} unknown`
}

/** "3s ago", "2m ago"; for `since` and freshness columns. */
export function ago(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-'
  const d = Math.max(0, now - ms)
  if (d < 1000) return 'now'
  if (d < 60_000) return `${Math.floor(d / 1000)}s ago`
  if (d < 3_600_000) return `${Math.floor(d / 60_000)}m ago`
  if (d < 86_400_000) return `${Math.floor(d / 3_600_000)}h ago`
  return `${Math.floor(d / 86_400_000)}d ago`
}
