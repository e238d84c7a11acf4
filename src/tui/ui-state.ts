/**
 * What the person at the keyboard has chosen: the view, sort, filter,
 * selection and open panes. `applyKey` is a pure reducer from a key name (as
 * blessed reports it) to the next UI state, so every binding is unit-tested
 * without a terminal. Scrolling needs the list length and page height, which
 * the caller passes in.
 */

export type View = 'targets' | 'members'
export type SortKey = 'id' | 'status' | 'owner' | 'latency' | 'since' | 'error'
export const SORT_KEYS: SortKey[] = ['id', 'status', 'owner', 'latency', 'since', 'error']

export interface UiState {
  view: View
  sortKey: SortKey
  /** 1 ascending, -1 descending. */
  sortDir: 1 | -1
  filter: string
  /** True while `/` is collecting filter text. */
  editingFilter: boolean
  unhealthyOnly: boolean
  /** Index of the selected row in the current (filtered, sorted) targets list, and its first visible row. */
  selected: number
  top: number
  /** Id of the selected target, so the selection follows it when the list re-sorts. */
  selectedId: string | null
  memberSelected: number
  memberTop: number
  detailOpen: boolean
  helpOpen: boolean
}

export function initialUi(): UiState {
  return {
    view: 'targets',
    sortKey: 'status',
    sortDir: 1,
    filter: '',
    editingFilter: false,
    unhealthyOnly: false,
    selected: 0,
    top: 0,
    selectedId: null,
    memberSelected: 0,
    memberTop: 0,
    detailOpen: false,
    helpOpen: false,
  }
}

/** The next (column, direction) in the `s` cycle: each column ascending, then descending. */
export function nextSort(key: SortKey, dir: 1 | -1): { sortKey: SortKey; sortDir: 1 | -1 } {
  if (dir === 1) return { sortKey: key, sortDir: -1 }
  const i = SORT_KEYS.indexOf(key)
  return { sortKey: SORT_KEYS[(i + 1) % SORT_KEYS.length] as SortKey, sortDir: 1 }
}

/** Keeps `selected` inside [0, length) and the window [top, top+page) around it. */
export function clampWindow(selected: number, top: number, length: number, page: number): { selected: number; top: number } {
  const p = Math.max(1, page)
  const sel = length === 0 ? 0 : Math.min(Math.max(0, selected), length - 1)
  let t = Math.min(Math.max(0, top), Math.max(0, length - p))
  if (sel < t) t = sel
  if (sel >= t + p) t = sel - p + 1
  return { selected: sel, top: Math.max(0, t) }
}

export interface KeyContext {
  /** Rows in the current list (targets after filter, or members). */
  length: number
  /** Rows visible at once. */
  page: number
}

export type KeyOutcome = { ui: UiState; action?: 'quit' | 'open-detail' | 'close-detail' }

/**
 * `key` is blessed's key name (`up`, `down`, `enter`, `escape`, `tab`, `backspace`,
 * `pageup`, `pagedown`, `home`, `end`, `C-c`) or the typed character.
 */
export function applyKey(ui: UiState, key: string, ctx: KeyContext): KeyOutcome {
  if (ui.editingFilter) return { ui: editFilter(ui, key) }
  if (ui.helpOpen) {
    if (key === 'q' || key === 'C-c') return { ui, action: 'quit' }
    return { ui: { ...ui, helpOpen: false } }
  }
  switch (key) {
    case 'q':
    case 'C-c':
      return { ui, action: 'quit' }
    case '?':
      return { ui: { ...ui, helpOpen: true } }
    case 'tab':
      return { ui: { ...ui, view: ui.view === 'targets' ? 'members' : 'targets' } }
    case '/':
      return { ui: { ...ui, editingFilter: true } }
    case 'u':
      return { ui: { ...ui, unhealthyOnly: !ui.unhealthyOnly, selected: 0, top: 0, selectedId: null } }
    case 's':
      return { ui: { ...ui, ...nextSort(ui.sortKey, ui.sortDir) } }
    case 'S':
      return { ui: { ...ui, sortDir: ui.sortDir === 1 ? -1 : 1 } }
    case 'enter':
      if (ui.view !== 'targets') return { ui }
      return ui.detailOpen ? { ui: { ...ui, detailOpen: false }, action: 'close-detail' } : { ui: { ...ui, detailOpen: true }, action: 'open-detail' }
    case 'escape':
      if (ui.detailOpen) return { ui: { ...ui, detailOpen: false }, action: 'close-detail' }
      if (ui.filter) return { ui: { ...ui, filter: '', selected: 0, top: 0, selectedId: null } }
      return { ui }
  }
  const delta = moveDelta(key, ctx.page, ctx.length)
  if (delta === null) return { ui }
  if (ui.view === 'members') {
    const w = clampWindow(ui.memberSelected + delta, ui.memberTop, ctx.length, ctx.page)
    return { ui: { ...ui, memberSelected: w.selected, memberTop: w.top } }
  }
  const w = clampWindow(ui.selected + delta, ui.top, ctx.length, ctx.page)
  // selectedId is resolved by the caller from the list; clearing it makes the index authoritative.
  return { ui: { ...ui, selected: w.selected, top: w.top, selectedId: null }, ...(ui.detailOpen ? { action: 'open-detail' as const } : {}) }
}

function moveDelta(key: string, page: number, length: number): number | null {
  switch (key) {
    case 'up':
    case 'k':
      return -1
    case 'down':
    case 'j':
      return 1
    case 'pageup':
    case 'C-b':
      return -Math.max(1, page - 1)
    case 'pagedown':
    case 'C-f':
    case 'space':
      return Math.max(1, page - 1)
    case 'home':
    case 'g':
      return -length
    case 'end':
    case 'G':
      return length
    default:
      return null
  }
}

function editFilter(ui: UiState, key: string): UiState {
  const reset = { selected: 0, top: 0, selectedId: null }
  if (key === 'enter') return { ...ui, editingFilter: false }
  if (key === 'escape' || key === 'C-c') return { ...ui, editingFilter: false, filter: '', ...reset }
  if (key === 'backspace') return { ...ui, filter: ui.filter.slice(0, -1), ...reset }
  if (key === 'C-u') return { ...ui, filter: '', ...reset }
  if (key === 'space') return { ...ui, filter: `${ui.filter} `, ...reset }
  if (key.length === 1 && key >= ' ' && ui.filter.length < 64) return { ...ui, filter: ui.filter + key, ...reset }
  return ui
}
