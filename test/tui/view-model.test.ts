import { describe, expect, test } from 'bun:test'
import { escapeTags, fit, formatAge, formatDuration, formatLatency, formatRate, paint, sparkline, statusColour } from '../../src/tui/format.ts'
import { computeLayout } from '../../src/tui/layout.ts'
import { detailLines, eventLines, headerLines, headerStats, memberLines } from '../../src/tui/panes.ts'
import { emptyState, type TuiState, type TuiTarget } from '../../src/tui/types.ts'
import { initialUi, type UiState } from '../../src/tui/ui-state.ts'
import { deriveTargets, headerLine, resolveSelection, targetColumns, targetLine, TargetList, visibleTargetLines } from '../../src/tui/view-model.ts'

const T = (id: string, status: string, extra: Partial<TuiTarget> = {}): TuiTarget => ({ id, status, since: null, owner: null, latencyMs: null, lastError: null, checkedAt: null, ...extra })
const ui = (over: Partial<UiState> = {}): UiState => ({ ...initialUi(), ...over })
const ids = (xs: TuiTarget[]) => xs.map((t) => t.id)
const stripTags = (s: string) => s.replace(/\{\/?[a-z-]+\}/g, '')

const sample = [
  T('b', 'healthy', { owner: 'n2', latencyMs: 30, since: 1000, lastError: null }),
  T('a', 'unhealthy', { owner: 'n1', latencyMs: 900, since: 5000, lastError: 'timeout' }),
  T('c', 'unknown', { owner: null, latencyMs: null, since: 3000, lastError: 'refused' }),
  T('d', 'healthy', { owner: 'n1', latencyMs: 5, since: 2000 }),
]

describe('formatting', () => {
  test('durations and ages', () => {
    expect(formatDuration(850)).toBe('850ms')
    expect(formatDuration(12_400)).toBe('12s')
    expect(formatDuration(200_000)).toBe('3m20s')
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe('2h05m')
    expect(formatDuration(3 * 86400_000 + 4 * 3600_000)).toBe('3d04h')
    expect(formatDuration(null)).toBe('-')
    expect(formatDuration(-5)).toBe('-')
    expect(formatAge(1000, 4000)).toBe('3s')
    expect(formatAge(5000, 4000)).toBe('0ms') // clock skew reads as now
    expect(formatAge(null, 4000)).toBe('-')
  })
  test('latency and rates', () => {
    expect(formatLatency(0.42)).toBe('0.4ms')
    expect(formatLatency(42.4)).toBe('42ms')
    expect(formatLatency(1234)).toBe('1.23s')
    expect(formatLatency(null)).toBe('-')
    expect(formatRate(12)).toBe('12 B/s')
    expect(formatRate(3400)).toBe('3.4 KB/s')
    expect(formatRate(1_200_000)).toBe('1.2 MB/s')
    expect(formatRate(null)).toBe('-')
  })
  test('fit pads, truncates with an ellipsis, aligns right', () => {
    expect(fit('abc', 5)).toBe('abc  ')
    expect(fit('abc', 5, true)).toBe('  abc')
    expect(fit('abcdef', 4)).toBe('abc…')
    expect(fit('abc', 0)).toBe('')
  })
  test('untrusted text cannot inject blessed tags', () => {
    expect(escapeTags('{red-fg}x{/red-fg}')).toBe('{open}red-fg{close}x{open}/red-fg{close}')
  })
  test('colours by status, and none with NO_COLOR', () => {
    expect(statusColour('healthy')).toBe('green')
    expect(statusColour('unhealthy')).toBe('red')
    expect(statusColour('unknown')).toBe('yellow')
    expect(statusColour('alive')).toBe('green')
    expect(statusColour('suspect')).toBe('yellow')
    expect(statusColour('dead')).toBe('red')
    expect(statusColour('left')).toBe('gray')
    expect(paint('x', 'red', false)).toBe('{red-fg}x{/red-fg}')
    expect(paint('x', 'red', true)).toBe('x')
  })
  test('sparkline scales between min and max, gaps for missing values', () => {
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8], 8)).toBe('▁▂▃▄▅▆▇█')
    expect(sparkline([5, null, 5], 10)).toBe('▁ ▁')
    expect(sparkline([1, 2, 3], 2)).toBe('▁█')
    expect(sparkline([], 5)).toBe('')
  })
})

describe('targets list', () => {
  test('default sort is by status, worst first, then id', () => {
    expect(ids(deriveTargets(sample, ui()))).toEqual(['a', 'c', 'b', 'd'])
  })
  test('sorts by every column, both directions, missing values last', () => {
    expect(ids(deriveTargets(sample, ui({ sortKey: 'id', sortDir: 1 })))).toEqual(['a', 'b', 'c', 'd'])
    expect(ids(deriveTargets(sample, ui({ sortKey: 'id', sortDir: -1 })))).toEqual(['d', 'c', 'b', 'a'])
    expect(ids(deriveTargets(sample, ui({ sortKey: 'latency', sortDir: 1 })))).toEqual(['d', 'b', 'a', 'c'])
    expect(ids(deriveTargets(sample, ui({ sortKey: 'latency', sortDir: -1 })))).toEqual(['a', 'b', 'd', 'c'])
    expect(ids(deriveTargets(sample, ui({ sortKey: 'owner', sortDir: 1 })))).toEqual(['a', 'd', 'b', 'c'])
    // since ascending: most recent change first.
    expect(ids(deriveTargets(sample, ui({ sortKey: 'since', sortDir: 1 })))).toEqual(['a', 'c', 'd', 'b'])
    expect(ids(deriveTargets(sample, ui({ sortKey: 'error', sortDir: 1 })))).toEqual(['c', 'a', 'b', 'd'])
    expect(ids(deriveTargets(sample, ui({ sortKey: 'status', sortDir: -1 })))).toEqual(['b', 'd', 'c', 'a'])
  })
  test('filter matches id, owner and error, case-insensitively', () => {
    expect(ids(deriveTargets(sample, ui({ filter: 'A', sortKey: 'id' })))).toEqual(['a'])
    expect(ids(deriveTargets(sample, ui({ filter: 'n1', sortKey: 'id' })))).toEqual(['a', 'd'])
    expect(ids(deriveTargets(sample, ui({ filter: 'refused', sortKey: 'id' })))).toEqual(['c'])
    expect(ids(deriveTargets(sample, ui({ filter: 'zzz' })))).toEqual([])
  })
  test('unhealthy only', () => {
    expect(ids(deriveTargets(sample, ui({ unhealthyOnly: true })))).toEqual(['a'])
    expect(ids(deriveTargets(sample, ui({ unhealthyOnly: true, filter: 'b' })))).toEqual([])
  })
  test('the derived list is memoised on data version and view choices', () => {
    const st = emptyState('http://x')
    for (const t of sample) st.targets.set(t.id, t)
    const list = new TargetList()
    const u = ui()
    list.get(st, u)
    list.get(st, u)
    expect(list.derivations).toBe(1)
    st.targetsVersion++
    list.get(st, u)
    list.get(st, { ...u, sortDir: -1 })
    expect(list.derivations).toBe(3)
  })
  test('selection follows the selected target when the list re-sorts', () => {
    const rows = deriveTargets(sample, ui({ sortKey: 'id' }))
    expect(resolveSelection(rows, ui({ selected: 0, selectedId: 'c' }))).toBe(2)
    expect(resolveSelection(rows, ui({ selected: 9, selectedId: 'gone' }))).toBe(3)
  })
})

describe('rows and windowing', () => {
  const many: TuiTarget[] = Array.from({ length: 10_000 }, (_, i) => T(`t-${String(i).padStart(5, '0')}`, i % 10 === 0 ? 'unhealthy' : 'healthy', { latencyMs: i % 300, since: 0 }))
  test('only the visible slice is formatted', () => {
    const cols = targetColumns(120)
    const lines = visibleTargetLines(many, { top: 5000, selected: 5003 }, 30, cols, 60_000, true)
    expect(lines).toHaveLength(30)
    expect(lines[0]).toStartWith('t-05000')
    expect(lines[3]).toStartWith('{inverse}t-05003')
    expect(visibleTargetLines(many, { top: 9995, selected: 9995 }, 30, cols, 0, true)).toHaveLength(5)
  })
  test('10,000 rows: one page renders in well under a millisecond per row', () => {
    const cols = targetColumns(120)
    const t0 = performance.now()
    for (let top = 0; top < 10_000; top += 40) visibleTargetLines(many, { top, selected: top }, 40, cols, 0, false)
    // 250 pages × 40 rows; generous bound for a shared 2-core machine.
    expect(performance.now() - t0).toBeLessThan(2000)
  })
  test('a row has every column, the status coloured, and fits the width', () => {
    const cols = targetColumns(120)
    const line = targetLine(T('api-1', 'unhealthy', { owner: 'n1', latencyMs: 12, since: 0, lastError: 'connection refused' }), cols, 65_000, false, false)
    expect(line).toContain('{red-fg}unhealthy{/red-fg}')
    const plain = stripTags(line)
    expect(plain).toMatch(/^api-1 +unhealthy +n1 +12ms +1m05s connection refused/)
    expect(plain.length).toBeLessThanOrEqual(120)
    expect(stripTags(targetLine(T('x', 'healthy'), cols, 0, true, false))).toMatch(/^x +healthy +- +- +- +-/)
  })
  test('narrow terminals drop error, owner and since before id and status', () => {
    expect(targetColumns(120).map((c) => c.key)).toEqual(['id', 'status', 'owner', 'latency', 'since', 'error'])
    expect(targetColumns(60).map((c) => c.key)).toEqual(['id', 'status', 'owner', 'latency', 'since'])
    expect(targetColumns(40).map((c) => c.key)).toEqual(['id', 'status', 'latency', 'since'])
    expect(targetColumns(30).map((c) => c.key)).toEqual(['id', 'status'])
    for (const w of [40, 60, 80, 120, 200]) {
      const total = targetColumns(w).reduce((s, c) => s + c.width + 1, -1)
      expect(total).toBeLessThanOrEqual(w)
    }
  })
  test('the column header marks the sort column and direction', () => {
    const h = headerLine(targetColumns(120), { sortKey: 'latency', sortDir: -1 }, true)
    expect(h).toContain('LATENCY▼')
    expect(h).not.toContain('ID▲')
  })
})

describe('panes', () => {
  const state = (): TuiState => {
    const s = emptyState('http://127.0.0.1:8080')
    for (const t of sample) s.targets.set(t.id, t)
    s.node = 'n1'
    s.connected = true
    s.members = [
      { name: 'n1', addr: '10.0.0.1:7946', state: 'alive', incarnation: 3, owned: 2, health: 0 },
      { name: 'n2', addr: null, state: 'suspect', incarnation: null, owned: null, health: null },
      { name: 'n3', addr: '10.0.0.3:7946', state: 'dead', incarnation: 1, owned: 0, health: null },
    ]
    s.checksPerSec = 12.5
    s.gossipBytesPerSec = 2048
    s.newestDataAt = 9000
    return s
  }
  test('header: node, members by state, targets by status, rates, data age', () => {
    const s = state()
    const [a, b] = headerLines(s, headerStats(s), 10_000, true)
    expect(a).toContain('node n1 @ http://127.0.0.1:8080  connected')
    expect(a).toContain('12.5 checks/s')
    expect(a).toContain('gossip 2.0 KB/s')
    expect(a).toContain('data 1s old')
    expect(b).toContain('members 1 alive 1 suspect 1 dead 0 left')
    expect(b).toContain('targets 2 healthy 1 unhealthy 1 unknown')
  })
  test('header before membership and metrics exist renders dashes', () => {
    const s = emptyState('http://h')
    const [a, b] = headerLines(s, headerStats(s), 0, true)
    expect(a).toContain('node - @ http://h  disconnected')
    expect(a).toContain('- checks/s  gossip -  data -')
    expect(b).toContain('members -')
    expect(headerLines(s, headerStats(s), 0, true, 'heck', 40)[0]).not.toContain('@')
  })
  test('members: state coloured, missing fields as "-"', () => {
    const lines = memberLines(state().members, 0, 0, 10, 100, false)
    expect(lines).toHaveLength(3)
    expect(lines[1]).toContain('{yellow-fg}suspect')
    expect(stripTags(lines[1] as string)).toMatch(/^n2 +- +suspect +- +- +-/)
    expect(memberLines(null, 0, 0, 10, 100, true)[0]).toContain('membership not reported')
  })
  test('detail: owners in priority order, sparkline, results and changes', () => {
    const lines = detailLines(
      {
        id: 'a',
        status: 'unhealthy',
        since: 5000,
        owners: ['n1', 'n2', 'n3'],
        owner: 'n1',
        recent: [10, 20, 30].map((l, i) => ({ ok: i < 2, latencyMs: l, statusCode: 200, error: i === 2 ? 'boom' : null, checkedAt: 8000 + i * 1000, checker: 'n1' })),
        transitions: [{ at: 9000, from: 'healthy', to: 'unhealthy' }],
        check: 'GET http://a/healthz',
        uptime: { h1: 0.9875, h24: 1, d7: null },
        partial: ['n3: no answer within 800 ms', 'n4: unreachable'],
        flapping: true,
        confirmation: { outcome: 'disagreed', saw: { n1: 'fail', n2: 'ok' } },
      },
      'a',
      50,
      11_000,
      true,
    ).join('\n')
    expect(lines).toMatch(/1\. n1 \(checks it now\)\n {2}2\. n2\n {2}3\. n3/)
    expect(lines).toContain('▁▅█')
    expect(lines).toMatch(/fail +1s ago +30ms 200 n1 boom/)
    expect(lines).toContain('healthy → unhealthy')
    expect(lines).toContain('uptime  1h 98.75%  24h 100%  7d -')
    expect(lines).toContain('partial: n3: no answer within 800 ms (+1 more)')
    expect(lines).toContain('flapping: notifications held until it settles')
    expect(lines).toContain('confirmation: seen failing from one place only: n')
    expect(detailLines(null, 'a', 50, 0, true).join('\n')).toContain('loading')
  })
  test('event log keeps the newest lines, colours by the new state', () => {
    const evs = Array.from({ length: 20 }, (_, i) => ({ at: 0, kind: 'health' as const, state: 'unhealthy', text: `e${i}` }))
    const lines = eventLines(evs, 5, 80, false)
    expect(lines).toHaveLength(5)
    expect(lines[4]).toContain('{red-fg}e19')
  })
})

describe('layout', () => {
  test('small terminals are refused politely, medium ones lose the log', () => {
    expect(computeLayout(30, 20, false).tooSmall).toBe(true)
    expect(computeLayout(80, 6, false).tooSmall).toBe(true)
    expect(computeLayout(80, 12, false).log).toBeNull()
    expect(computeLayout(120, 35, false).log?.height).toBe(9)
  })
  test('the detail pane sits right when wide and replaces the list when narrow', () => {
    const wide = computeLayout(140, 40, true)
    expect(wide.detail?.left).toBe(wide.main.width)
    const narrow = computeLayout(80, 30, true)
    expect(narrow.main.height).toBe(0)
    expect(narrow.detail?.width).toBe(80)
  })
  test('panes never overlap or overflow', () => {
    for (const [w, h] of [[40, 8], [80, 24], [120, 35], [200, 60]] as const) {
      const L = computeLayout(w, h, false)
      expect(L.header.height + L.main.height + (L.log?.height ?? 0) + L.footer.height).toBe(h)
    }
  })
})
