/**
 * Formatting for the TUI: durations, ages, latencies, rates, padding, and
 * colour tags (blessed's `{red-fg}` markup) chosen by status. With NO_COLOR
 * (https://no-color.org) no colour tags are emitted at all.
 */

export const DASH = '-'

/** 850ms, 12s, 3m20s, 2h05m, 3d04h. Negative or missing → "-". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH
  if (ms < 1000) return `${Math.round(ms)}ms`
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`
  const d = Math.floor(h / 24)
  return `${d}d${String(h % 24).padStart(2, '0')}h`
}

/** Age of a wall-clock instant at `now`; a clock skew into the future reads as 0ms. */
export function formatAge(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined || !Number.isFinite(at)) return DASH
  return formatDuration(Math.max(0, now - at))
}

/** 0.4ms, 12ms, 1.23s. */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH
  if (ms < 10) return `${ms.toFixed(1)}ms`
  if (ms < 1000) return `${Math.round(ms)}ms`
  return `${(ms / 1000).toFixed(2)}s`
}

/** 12 B/s, 3.4 KB/s, 1.2 MB/s. */
export function formatRate(bytesPerSec: number | null | undefined): string {
  if (bytesPerSec === null || bytesPerSec === undefined || !Number.isFinite(bytesPerSec)) return DASH
  if (bytesPerSec < 1000) return `${Math.round(bytesPerSec)} B/s`
  if (bytesPerSec < 1e6) return `${(bytesPerSec / 1e3).toFixed(1)} KB/s`
  return `${(bytesPerSec / 1e6).toFixed(1)} MB/s`
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH
  return n < 100 ? n.toFixed(1).replace(/\.0$/, '') : String(Math.round(n))
}

/** Pads or truncates (with "…") to exactly `width` columns. Inputs are single-width text. */
export function fit(s: string, width: number, right = false): string {
  if (width <= 0) return ''
  if (s.length > width) return width === 1 ? '…' : `${s.slice(0, width - 1)}…`
  return right ? s.padStart(width) : s.padEnd(width)
}

/** Neutralises blessed tags inside untrusted text (target ids, error messages). */
export function escapeTags(s: string): string {
  return s.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'))
}

/** Strips control characters an error message might carry, so it cannot break the screen. */
export function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f]+/g, ' ')
}

export type Colour = 'green' | 'red' | 'yellow' | 'gray' | 'cyan' | 'white'

/** Colour of a target status or a member state. */
export function statusColour(status: string): Colour {
  switch (status) {
    case 'healthy':
    case 'alive':
      return 'green'
    case 'unhealthy':
    case 'dead':
      return 'red'
    case 'unknown':
    case 'suspect':
      return 'yellow'
    case 'left':
      return 'gray'
    default:
      return 'white'
  }
}

/** Wraps already-escaped text in a colour tag, unless colour is off. */
export function paint(text: string, colour: Colour, noColor: boolean): string {
  if (noColor) return text
  return `{${colour}-fg}${text}{/${colour}-fg}`
}

export function bold(text: string, noColor: boolean): string {
  return noColor ? text : `{bold}${text}{/bold}`
}

const BARS = '▁▂▃▄▅▆▇█'

/** A latency sparkline; missing values (failed checks without latency) show as a space. */
export function sparkline(values: Array<number | null>, width: number): string {
  const vs = values.slice(-Math.max(0, width))
  const nums = vs.filter((v): v is number => v !== null && Number.isFinite(v))
  if (nums.length === 0) return ''
  const min = Math.min(...nums)
  const max = Math.max(...nums)
  const span = max - min
  return vs
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return ' '
      const i = span === 0 ? 0 : Math.round(((v - min) / span) * (BARS.length - 1))
      return BARS[i] as string
    })
    .join('')
}
