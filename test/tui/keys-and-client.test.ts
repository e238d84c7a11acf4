import { describe, expect, test } from 'bun:test'
import { TuiClient } from '../../src/tui/client.ts'
import { demoAction } from '../../src/tui/demo-keys.ts'
import { emptyState } from '../../src/tui/types.ts'
import { parseDetail, parseHealth, parseMembers, SseParser, sumCounters } from '../../src/tui/parse.ts'
import { applyKey, clampWindow, initialUi, nextSort, SORT_KEYS, type UiState } from '../../src/tui/ui-state.ts'
import { SimClock } from '../sim/sim-clock.ts'

const ctx = { length: 100, page: 10 }
const press = (ui: UiState, ...keys: string[]) => keys.reduce((u, k) => applyKey(u, k, ctx).ui, ui)

describe('keys', () => {
  test('arrows and j/k move, pages and ends, window follows the selection', () => {
    let ui = press(initialUi(), 'down', 'j', 'j')
    expect(ui.selected).toBe(3)
    ui = press(ui, 'up', 'k')
    expect(ui.selected).toBe(1)
    ui = press(ui, 'pagedown')
    expect(ui.selected).toBe(10)
    expect(ui.top).toBe(1)
    ui = press(ui, 'G')
    expect(ui.selected).toBe(99)
    expect(ui.top).toBe(90)
    ui = press(ui, 'g')
    expect([ui.selected, ui.top]).toEqual([0, 0])
    ui = press(ui, 'up')
    expect(ui.selected).toBe(0)
  })
  test('clampWindow keeps selection and window inside the list', () => {
    expect(clampWindow(5, 0, 3, 10)).toEqual({ selected: 2, top: 0 })
    expect(clampWindow(0, 50, 0, 10)).toEqual({ selected: 0, top: 0 })
    expect(clampWindow(50, 0, 100, 10)).toEqual({ selected: 50, top: 41 })
  })
  test('Tab switches views; members have their own cursor', () => {
    const ui = press(initialUi(), 'down', 'tab', 'down', 'down')
    expect(ui.view).toBe('members')
    expect(ui.memberSelected).toBe(2)
    expect(ui.selected).toBe(1)
    expect(press(ui, 'tab').view).toBe('targets')
  })
  test('/ collects filter text; Enter keeps it, Escape clears it, Backspace edits', () => {
    let ui = press(initialUi(), '/', 'a', 'p', 'i', 'backspace', 'p')
    expect(ui.editingFilter).toBe(true)
    expect(ui.filter).toBe('app')
    // While editing, q and j are text, not commands.
    expect(applyKey(ui, 'q', ctx).action).toBeUndefined()
    ui = press(ui, 'enter')
    expect([ui.editingFilter, ui.filter]).toEqual([false, 'app'])
    ui = press(ui, 'escape')
    expect(ui.filter).toBe('')
    expect(press(initialUi(), '/', 'x', 'escape')).toMatchObject({ editingFilter: false, filter: '' })
  })
  test('u toggles unhealthy-only and resets the cursor', () => {
    const ui = press(initialUi(), 'down', 'u')
    expect(ui.unhealthyOnly).toBe(true)
    expect(ui.selected).toBe(0)
    expect(press(ui, 'u').unhealthyOnly).toBe(false)
  })
  test('s cycles every column ascending then descending; S reverses', () => {
    let k = { sortKey: initialUi().sortKey, sortDir: initialUi().sortDir }
    const seen: string[] = []
    for (let i = 0; i < SORT_KEYS.length * 2; i++) {
      seen.push(`${k.sortKey}${k.sortDir}`)
      k = nextSort(k.sortKey, k.sortDir)
    }
    expect(new Set(seen).size).toBe(SORT_KEYS.length * 2)
    expect(`${k.sortKey}${k.sortDir}`).toBe(seen[0] as string)
    expect(press(initialUi(), 'S').sortDir).toBe(-1)
  })
  test('Enter opens and closes the detail pane; moving while open re-targets it', () => {
    const open = applyKey(initialUi(), 'enter', ctx)
    expect(open.action).toBe('open-detail')
    expect(applyKey(open.ui, 'down', ctx).action).toBe('open-detail')
    expect(applyKey(open.ui, 'enter', ctx).action).toBe('close-detail')
    expect(applyKey(open.ui, 'escape', ctx).action).toBe('close-detail')
  })
  test('? opens help, any key closes it; q and Ctrl-C quit', () => {
    const help = press(initialUi(), '?')
    expect(help.helpOpen).toBe(true)
    expect(press(help, 'x').helpOpen).toBe(false)
    expect(applyKey(initialUi(), 'q', ctx).action).toBe('quit')
    expect(applyKey(initialUi(), 'C-c', ctx).action).toBe('quit')
    expect(applyKey(help, 'q', ctx).action).toBe('quit')
  })
})

describe('parsing the API', () => {
  test('health tolerates missing fields', () => {
    const h = parseHealth({ node: 'n1', data_age_ms: 5, targets: [{ id: 'a', status: 'healthy', since: 1, owner: 'n1', last: { latency_ms: 3, error: 'x', checked_at: 2 } }, { id: 'b' }, { nope: 1 }, 7] })
    expect(h.node).toBe('n1')
    expect(h.targets).toEqual([
      { id: 'a', status: 'healthy', since: 1, owner: 'n1', latencyMs: 3, lastError: 'x', checkedAt: 2 },
      { id: 'b', status: 'unknown', since: null, owner: null, latencyMs: null, lastError: null, checkedAt: null },
    ])
    expect(parseHealth('garbage').targets).toEqual([])
  })
  test('members: absent before membership lands', () => {
    expect(parseMembers({ node: 'n1' })).toBeNull()
    expect(parseMembers({ members: [{ name: 'a', state: 'suspect' }] })).toEqual([{ name: 'a', addr: null, state: 'suspect', incarnation: null, owned: null, health: null }])
  })
  test('detail: owners, recent results, transitions, check description', () => {
    const d = parseDetail({ target: { id: 'a', status: 'unhealthy', since: 3, owners: ['n2', 'n1'], recent: [{ ok: false, latency_ms: 9, error: 'e', checked_at: 4, checker: 'n2' }], transitions: [{ at: 3, from: 'healthy', to: 'unhealthy' }], definition: { check: { kind: 'tcp', host: 'db', port: 5432 } } } })
    expect(d?.owners).toEqual(['n2', 'n1'])
    expect(d?.recent[0]).toMatchObject({ ok: false, latencyMs: 9, error: 'e', checker: 'n2' })
    expect(d?.transitions).toEqual([{ at: 3, from: 'healthy', to: 'unhealthy' }])
    expect(d?.check).toBe('tcp db:5432')
    expect([d?.uptime, d?.partial]).toEqual([null, null])
    // The story's uptime and partial answer, and a push target (the file form GET answers).
    const p = parseDetail({ target: { id: 'j', status: 'healthy', uptime: { h1: 1, h24: 0.5, d7: 0.25 }, partial: true, partial_reasons: ['n3: unreachable'], definition: { id: 'j', push: { grace: '5m' } } } })
    expect(p?.uptime).toEqual({ h1: 1, h24: 0.5, d7: 0.25 })
    expect(p?.partial).toEqual(['n3: unreachable'])
    expect(p?.check).toBe('push heartbeats, grace 5m')
  })
  test('metrics: counters summed over label sets; comments and histograms ignored', () => {
    const text = '# HELP heck_checks_total x\n# TYPE heck_checks_total counter\nheck_checks_total{result="ok"} 10\nheck_checks_total{result="fail"} 5\nheck_gossip_bytes_total{direction="in"} 1e3\nheck_gossip_bytes_total{direction="out"} 24\nheck_checks_total_other 99\n'
    const m = sumCounters(text, ['heck_checks_total', 'heck_gossip_bytes_total'])
    expect(m.get('heck_checks_total')).toBe(15)
    expect(m.get('heck_gossip_bytes_total')).toBe(1024)
  })
  test('SSE: events split across chunks, comments, CRLF, multi-line data', () => {
    const p = new SseParser()
    expect(p.feed('event: hello\ndata: {"node"')).toEqual([])
    expect(p.feed(':"n1"}\n\n: keepalive\n\nevent: health\r\ndata: a\r\ndata: b\r')).toEqual([{ event: 'hello', data: '{"node":"n1"}' }])
    expect(p.feed('\n\r\n')).toEqual([{ event: 'health', data: 'a\nb' }])
    expect(p.feed('data: x\n\n')).toEqual([{ event: 'message', data: 'x' }])
  })
})

describe('client', () => {
  const fakeFetch = (routes: Record<string, unknown>): typeof fetch =>
    (async (input: string | URL | Request) => {
      const path = new URL(String(input)).pathname
      if (path === '/v1/events') return new Response(new ReadableStream({ start() {} }), { headers: { 'content-type': 'text/event-stream' } })
      const body = routes[path]
      if (body === undefined) return new Response('{}', { status: 404 })
      return typeof body === 'string' ? new Response(body) : Response.json(body)
    }) as typeof fetch

  test('polls health, members and metrics; computes rates from counter deltas', async () => {
    const clock = new SimClock()
    let checks = 100
    const routes: Record<string, unknown> = {
      '/v1/health': { node: 'n1', data_age_ms: 250, targets: [{ id: 'a', status: 'healthy', since: 1 }] },
      '/v1/members': { members: [{ name: 'n1', state: 'alive' }] },
    }
    const f = fakeFetch(routes)
    let changes = 0
    const c = new TuiClient({
      baseUrl: 'http://x',
      clock,
      onChange: () => changes++,
      fetch: (async (i: string) => {
        routes['/metrics'] = `heck_checks_total{result="ok"} ${checks}\nheck_gossip_bytes_total{direction="out"} ${checks * 10}\n`
        return f(i)
      }) as typeof fetch,
    })
    await c.refresh()
    expect(c.state.connected).toBe(true)
    expect(c.state.node).toBe('n1')
    expect(c.state.targets.get('a')?.status).toBe('healthy')
    expect(c.state.members?.[0]?.name).toBe('n1')
    expect(c.state.newestDataAt).toBe(clock.now() - 250)
    expect(c.state.checksPerSec).toBeNull()
    checks = 300
    clock.advance(2000)
    await c.refresh()
    expect(c.state.checksPerSec).toBeCloseTo(100, 5)
    expect(c.state.gossipBytesPerSec).toBeCloseTo(1000, 5)
    expect(changes).toBe(2)
    c.stop()
  })

  test('unreachable agent: disconnected, one error logged, members stay null', async () => {
    const c = new TuiClient({ baseUrl: 'http://x', clock: new SimClock(), onChange: () => {}, fetch: (async () => { throw new Error('ECONNREFUSED') }) as unknown as typeof fetch })
    await c.refresh()
    await c.refresh()
    expect(c.state.connected).toBe(false)
    expect(c.state.events.filter((e) => e.kind === 'error')).toHaveLength(1)
    expect(c.state.members).toBeNull()
  })

  test('events update targets and members and land in the log, bounded', () => {
    const c = new TuiClient({ baseUrl: 'http://x', clock: new SimClock(), onChange: () => {}, fetch: fakeFetch({}) })
    c.onMessage('hello', '{"node":"n9"}')
    c.onMessage('health', JSON.stringify({ type: 'health', id: 'a', status: 'unhealthy', previous: 'healthy', since: 5, checker: 'n1', error: 'refused' }))
    c.onMessage('member', JSON.stringify({ type: 'member', name: 'n2', state: 'suspect', previous: 'alive', addr: '1.2.3.4:7946' }))
    c.onMessage('health', 'not json')
    expect(c.state.node).toBe('n9')
    expect(c.state.targets.get('a')).toMatchObject({ status: 'unhealthy', since: 5, lastError: 'refused' })
    expect(c.state.members?.[0]).toMatchObject({ name: 'n2', state: 'suspect' })
    expect(c.state.events.map((e) => e.text)).toEqual(['a healthy → unhealthy (by n1): refused', 'member n2 alive → suspect'])
    for (let i = 0; i < 2000; i++) c.onMessage('health', JSON.stringify({ id: `t${i}`, status: 'healthy' }))
    expect(c.state.events.length).toBeLessThanOrEqual(600)
    expect(c.state.events.at(-1)?.text).toContain('t1999')
  })
})

describe('demo keys', () => {
  const st = emptyState('http://x')
  st.members = [
    { name: 'n1', addr: null, state: 'alive', incarnation: null, owned: null, health: null },
    { name: 'n2', addr: null, state: 'alive', incarnation: null, owned: null, health: null },
  ]
  const target = { id: 'web-1', status: 'healthy', since: null, owner: 'n2', latencyMs: null, lastError: null, checkedAt: null }
  test("K kills the selected member, or the selected target's owner", () => {
    expect(demoAction('K', { ...initialUi(), view: 'members', memberSelected: 0 }, st, target, null)).toEqual({ kind: 'kill', node: 'n1' })
    expect(demoAction('K', initialUi(), st, target, null)).toEqual({ kind: 'kill', node: 'n2' })
    expect(demoAction('K', initialUi(), st, { ...target, owner: null }, null)).toBeNull()
  })
  test('R restarts the selected member or the last killed; F flips the selected target', () => {
    expect(demoAction('R', initialUi(), st, target, 'n2')).toEqual({ kind: 'restart', node: 'n2' })
    expect(demoAction('R', { ...initialUi(), view: 'members', memberSelected: 1 }, st, target, 'n1')).toEqual({ kind: 'restart', node: 'n2' })
    expect(demoAction('R', initialUi(), st, target, null)).toBeNull()
    expect(demoAction('F', initialUi(), st, target, null)).toEqual({ kind: 'flip', target: 'web-1' })
    expect(demoAction('F', initialUi(), st, undefined, null)).toBeNull()
  })
})
