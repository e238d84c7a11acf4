/**
 * The blessed renderer: header, Targets and Members views, the detail pane,
 * the event log, a footer with key hints or the filter prompt, and help.
 * All content comes from the pure view-model; this file only owns the
 * screen, the keys, the frame pacing and the terminal's restoration on every
 * exit path (q, signals, uncaught errors).
 */
import blessed from 'blessed'
import { writeFileSync } from 'node:fs'
import type { Clock } from '../seams/clock.ts'
import { TuiClient } from './client.ts'
import { bold, escapeTags, paint } from './format.ts'
import { demoAction, describeDemoAction } from './demo-keys.ts'
import { computeLayout, MIN_HEIGHT, MIN_WIDTH } from './layout.ts'
import { detailLines, eventLines, headerLines, headerStats, helpLines, memberHeader, memberLines } from './panes.ts'
import { applyKey, clampWindow, initialUi, type UiState } from './ui-state.ts'
import { headerLine, resolveSelection, targetColumns, TargetList, visibleTargetLines } from './view-model.ts'

/** Actions only `heck demo` offers, so a newcomer can watch failover happen. */
export interface DemoControls {
  killNode(name: string): void | Promise<void>
  restartNode(name: string): void | Promise<void>
  flipTarget(id: string): void | Promise<void>
}

export interface AppOptions {
  baseUrl: string
  /** Agents to switch to when baseUrl stops answering. */
  fallbackUrls?: string[]
  /** See ClientOptions.token. */
  token?: string
  clock: Clock
  demo?: DemoControls
  title?: string
  noColor: boolean
  /** Shortest gap between frames driven by data (ms); key presses draw at once. Default 100 (10 fps). */
  minFrameMs?: number
  pollIntervalMs?: number
  /** Leave SIGHUP to the host process (heck agent reloads its targets file on it). */
  ignoreSighup?: boolean
  /** When set, frame timings are written here on exit (for bench/tui.ts): one JSON object. */
  tracePath?: string
}

/** Runs the UI until the person quits; resolves with the exit code. The screen is always restored. */
export function runApp(opts: AppOptions): Promise<number> {
  return new Promise<number>((resolveExit) => {
    const noColor = opts.noColor
    const minFrameMs = opts.minFrameMs ?? 100
    let ui: UiState = initialUi()
    const list = new TargetList()
    let pageRows = 10
    let lastFrame = 0
    let frameTimer: (() => void) | null = null
    let immediate = false
    let finished = false
    let lastKilled: string | null = null

    const screen = blessed.screen({
      smartCSR: true,
      // Box-drawing and sparkline characters go out as UTF-8, not as the terminal's ACS set: every terminal heck targets speaks UTF-8.
      forceUnicode: true,
      fullUnicode: false,
      warnings: false,
      autoPadding: false,
      dockBorders: false,
      title: opts.title ?? 'heck',
    })
    // ...and never through ACS mode switches, which some terminal/multiplexer pairs show as letters (q, x).
    ;(screen.program as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true
    const box = (extra: blessed.Widgets.BoxOptions = {}) =>
      blessed.box({ parent: screen, tags: true, wrap: false, scrollable: false, ...extra })
    const header = box({ top: 0, left: 0, width: '100%', height: 2 })
    const main = box({})
    const detail = box({ border: { type: 'line' }, label: ' detail ' })
    const log = box({})
    const footer = box({})
    const help = box({ border: { type: 'line' }, label: ' help ', top: 'center', left: 'center', width: 76, height: 20, hidden: true })

    const client = new TuiClient({ baseUrl: opts.baseUrl, clock: opts.clock, onChange: () => schedule(false), ...(opts.fallbackUrls ? { fallbackUrls: opts.fallbackUrls } : {}), ...(opts.token ? { token: opts.token } : {}), ...(opts.pollIntervalMs ? { pollIntervalMs: opts.pollIntervalMs } : {}) })

    // While the screen is up, anything written to stderr (the in-process agent's log, for
    // `heck agent --tui` and `heck demo`) goes to the event log instead of tearing the screen.
    const stderrWrite = process.stderr.write
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
      for (const line of text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split('\n')) {
        if (line.trim()) client.log({ at: opts.clock.now(), kind: /\b(ERROR|WARN)\b/.test(line) ? 'error' : 'info', text: line })
      }
      schedule(false)
      const cb = rest.find((x): x is () => void => typeof x === 'function')
      cb?.()
      return true
    }) as typeof process.stderr.write

    const finish = (code: number, message?: string) => {
      if (finished) return
      finished = true
      process.stderr.write = stderrWrite
      frameTimer?.()
      client.stop()
      for (const [sig, fn] of handlers) process.removeListener(sig, fn)
      try {
        screen.destroy()
      } catch {
        // Restoring must never throw on the way out.
      }
      if (message) process.stderr.write(`${message}\n`)
      if (trace && opts.tracePath) {
        try {
          writeFileSync(opts.tracePath, JSON.stringify({ keyToFrameMs: trace.keyToFrameMs, frameMs: trace.frameMs }))
        } catch {
          // Tracing is best effort.
        }
      }
      resolveExit(code)
    }
    const onSignal = () => finish(0)
    const onCrash = (e: unknown) => finish(1, `heck tui: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
    const onExit = () => finish(1)
    const handlers: Array<[string, (...a: unknown[]) => void]> = [
      ['SIGINT', onSignal],
      ['SIGTERM', onSignal],
      // A closed terminal sends SIGHUP; a host that uses SIGHUP itself (heck agent reloads targets) opts out.
      ...(opts.ignoreSighup ? [] : ([['SIGHUP', onSignal]] as Array<[string, (...a: unknown[]) => void]>)),
      ['uncaughtException', onCrash],
      ['unhandledRejection', onCrash],
      ['exit', onExit],
    ]
    for (const [sig, fn] of handlers) process.on(sig, fn)

    function schedule(urgent: boolean) {
      if (finished) return
      if (urgent) {
        if (immediate) return
        immediate = true
        frameTimer?.()
        frameTimer = null
        setImmediate(draw)
        return
      }
      if (frameTimer || immediate) return
      const wait = Math.max(0, lastFrame + minFrameMs - opts.clock.monotonic())
      frameTimer = opts.clock.after(wait, () => {
        frameTimer = null
        draw()
      })
    }

    // Timings for bench/tui.ts: key received → its frame written, and the cost of every frame.
    const trace = opts.tracePath ? { keyToFrameMs: [] as number[], frameMs: [] as number[], pendingKeys: [] as number[] } : null

    function draw() {
      immediate = false
      if (finished) return
      try {
        const t0 = opts.clock.monotonic()
        render()
        if (trace) {
          const t1 = opts.clock.monotonic()
          trace.frameMs.push(t1 - t0)
          for (const k of trace.pendingKeys) trace.keyToFrameMs.push(t1 - k)
          trace.pendingKeys.length = 0
        }
      } catch (e) {
        onCrash(e)
      }
    }

    function render() {
      lastFrame = opts.clock.monotonic()
      const state = client.state
      const now = opts.clock.now()
      const W = (screen.width as number) || 80
      const H = (screen.height as number) || 24
      const L = computeLayout(W, H, ui.detailOpen && ui.view === 'targets')
      header.setContent(headerLines(state, headerStats(state), now, noColor, opts.title ?? 'heck', W).join('\n'))
      place(footer, L.footer)
      if (L.tooSmall) {
        for (const b of [main, detail, log]) b.hide()
        footer.setContent(`terminal too small (${W}x${H}); need ${MIN_WIDTH}x${MIN_HEIGHT}. q quits`)
        screen.render()
        return
      }
      const rows = list.get(state, ui)
      // Row 0 of the list pane is the column header.
      pageRows = Math.max(1, L.main.height - 1)
      if (ui.view === 'targets') {
        const w = clampWindow(resolveSelection(rows, ui), ui.top, rows.length, pageRows)
        ui = { ...ui, selected: w.selected, top: w.top, selectedId: rows[w.selected]?.id ?? null }
      } else {
        const w = clampWindow(ui.memberSelected, ui.memberTop, state.members?.length ?? 0, pageRows)
        ui = { ...ui, memberSelected: w.selected, memberTop: w.top }
      }
      if (L.main.height > 0) {
        place(main, L.main)
        if (ui.view === 'targets') {
          const cols = targetColumns(L.main.width)
          const lines = visibleTargetLines(rows, ui, pageRows, cols, now, noColor)
          if (rows.length === 0) lines.push(state.targets.size === 0 ? '  no targets yet' : '  no targets match the filter')
          main.setContent([headerLine(cols, ui, noColor), ...lines].join('\n'))
        } else {
          main.setContent([memberHeader(L.main.width, noColor), ...memberLines(state.members, ui.memberTop, ui.memberSelected, pageRows, L.main.width, noColor)].join('\n'))
        }
      } else main.hide()
      if (L.detail) {
        place(detail, L.detail)
        detail.setContent(detailLines(state.detail, ui.selectedId, L.detail.width - 2, now, noColor).slice(0, L.detail.height - 2).join('\n'))
      } else detail.hide()
      if (L.log) {
        place(log, L.log)
        const title = `── events ${'─'.repeat(Math.max(0, L.log.width - 10))}`
        log.setContent([paint(title, 'gray', noColor), ...eventLines(state.events, L.log.height - 1, L.log.width, noColor)].join('\n'))
      } else log.hide()
      footer.setContent(footerText(rows.length, state.targets.size))
      if (ui.helpOpen) {
        help.setContent(helpLines(Boolean(opts.demo)).join('\n'))
        help.height = Math.min(H, helpLines(Boolean(opts.demo)).length + 2)
        help.width = Math.min(W, 76)
        help.show()
        help.setFront()
      } else help.hide()
      screen.render()
    }

    function place(b: blessed.Widgets.BoxElement, r: { top: number; left: number; width: number; height: number }) {
      b.top = r.top
      b.left = r.left
      b.width = r.width
      b.height = r.height
      b.show()
    }

    function footerText(shown: number, total: number): string {
      if (ui.editingFilter) return `${bold('/', noColor)}${escapeTags(ui.filter)}█  ${paint('Enter keep · Esc clear', 'gray', noColor)}`
      const members = client.state.members?.length ?? 0
      const view = ui.view === 'targets' ? `Targets ${shown ? ui.selected + 1 : 0}/${shown}${shown !== total ? ` of ${total}` : ''}` : `Members ${members ? ui.memberSelected + 1 : 0}/${members}`
      const flags = [ui.filter ? `filter "${escapeTags(ui.filter)}"` : '', ui.unhealthyOnly ? 'unhealthy only' : '', `sort ${ui.sortKey} ${ui.sortDir === 1 ? '▲' : '▼'}`].filter(Boolean).join(' · ')
      // Most important first: a narrow terminal cuts the end of the line.
      const keys = `? help  q quit  Tab view  / filter  u unhealthy  s sort  Enter detail${opts.demo ? '  K/R/F demo' : ''}`
      return `${bold(view, noColor)} · ${flags}  ${paint(keys, 'gray', noColor)}`
    }

    screen.on('keypress', (ch: string | undefined, key: { full?: string; name?: string } | undefined) => {
      // Printable characters by what was typed (blessed names Shift-f "S-f"; we want "F"), the rest by key name.
      const printable = ch !== undefined && ch.length === 1 && ch > ' ' && ch !== '\x7f'
      const name = printable ? ch : ch === ' ' ? 'space' : key?.full || key?.name || ch
      if (!name || name === 'return' || name === 'linefeed') return
      trace?.pendingKeys.push(opts.clock.monotonic())
      if (!ui.editingFilter && !ui.helpOpen && opts.demo && (name === 'K' || name === 'R' || name === 'F')) {
        demoKey(name)
        return
      }
      const length = ui.view === 'targets' ? list.get(client.state, ui).length : (client.state.members?.length ?? 0)
      const out = applyKey(ui, name, { length, page: pageRows })
      ui = out.ui
      if (out.action === 'quit') return finish(0)
      if (out.action === 'close-detail') client.setDetail(null)
      if (out.action === 'open-detail' || (ui.detailOpen && ui.view === 'targets')) {
        const rows = list.get(client.state, ui)
        client.setDetail(rows[resolveSelection(rows, ui)]?.id ?? null)
      }
      schedule(true)
    })
    screen.on('resize', () => schedule(true))

    function demoKey(k: 'K' | 'R' | 'F') {
      const demo = opts.demo as DemoControls
      const rows = list.get(client.state, ui)
      const a = demoAction(k, ui, client.state, rows[resolveSelection(rows, ui)], lastKilled)
      if (!a) return
      if (a.kind === 'kill') lastKilled = a.node
      const label = describeDemoAction(a)
      client.log({ at: opts.clock.now(), kind: 'info', text: label })
      Promise.resolve()
        .then(() => (a.kind === 'flip' ? demo.flipTarget(a.target) : a.kind === 'kill' ? demo.killNode(a.node) : demo.restartNode(a.node)))
        .then(() => client.refresh())
        .catch((e: unknown) => client.log({ at: opts.clock.now(), kind: 'error', text: `${label} failed: ${e instanceof Error ? e.message : String(e)}` }))
        .finally(() => schedule(false))
      schedule(true)
    }

    // Ages in the header and the "since" column move even when no data does.
    const tick = () => {
      if (finished) return
      schedule(false)
      opts.clock.after(1000, tick)
    }
    client.start()
    tick()
    schedule(true)
  })
}
