/**
 * Where each pane goes for a terminal of a given size. Pure, so small and
 * odd sizes are unit-tested: the event log shrinks then disappears, the
 * detail pane moves from the right side to replacing the list when narrow.
 */

export interface Rect {
  top: number
  left: number
  width: number
  height: number
}

export interface Layout {
  tooSmall: boolean
  header: Rect
  main: Rect
  detail: Rect | null
  log: Rect | null
  footer: Rect
}

export const MIN_WIDTH = 40
export const MIN_HEIGHT = 8

export function computeLayout(width: number, height: number, detailOpen: boolean): Layout {
  const footer = { top: Math.max(0, height - 1), left: 0, width, height: 1 }
  const header = { top: 0, left: 0, width, height: 2 }
  if (width < MIN_WIDTH || height < MIN_HEIGHT) {
    return { tooSmall: true, header, main: { top: 2, left: 0, width, height: 0 }, detail: null, log: null, footer }
  }
  const logHeight = height >= 30 ? 9 : height >= 20 ? 6 : height >= 14 ? 4 : 0
  const bodyTop = 2
  const bodyHeight = height - bodyTop - 1 - logHeight
  const log = logHeight > 0 ? { top: bodyTop + bodyHeight, left: 0, width, height: logHeight } : null
  if (!detailOpen) return { tooSmall: false, header, main: { top: bodyTop, left: 0, width, height: bodyHeight }, detail: null, log, footer }
  if (width >= 100) {
    const dw = Math.max(40, Math.floor(width * 0.4))
    return {
      tooSmall: false,
      header,
      main: { top: bodyTop, left: 0, width: width - dw, height: bodyHeight },
      detail: { top: bodyTop, left: width - dw, width: dw, height: bodyHeight },
      log,
      footer,
    }
  }
  // Narrow: the detail pane takes the list's place until closed.
  return { tooSmall: false, header, main: { top: bodyTop, left: 0, width, height: 0 }, detail: { top: bodyTop, left: 0, width, height: bodyHeight }, log, footer }
}
