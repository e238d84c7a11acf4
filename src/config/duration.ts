/**
 * Durations as the targets file and flags write them: "250ms", "5s", "1m", "2h",
 * or a combination like "1m30s". Bare numbers are refused: a unit-less "5" is
 * ambiguous (5 s? 5 ms?) and a silent guess is worse than an error.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y

/** Returns milliseconds, or an error string saying what is wrong. */
export function parseDuration(input: unknown): number | { error: string } {
  if (typeof input !== 'string' || input.trim() === '') {
    return { error: `expected a duration like "500ms", "5s", "1m" or "2h", got ${JSON.stringify(input)}` }
  }
  const s = input.trim()
  let total = 0
  PART.lastIndex = 0
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex
    const m = PART.exec(s)
    if (!m) {
      return { error: `bad duration ${JSON.stringify(input)} at "${s.slice(at)}": use a number with ms, s, m or h, e.g. "5s"` }
    }
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number)
  }
  if (!Number.isFinite(total) || total <= 0) return { error: `duration ${JSON.stringify(input)} must be above zero` }
  return Math.round(total)
}

/** Formats ms compactly for messages and tables: 1500 → "1.5s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${+(ms / 1000).toFixed(2)}s`
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(2)}m`
  return `${+(ms / 3_600_000).toFixed(2)}h`
}
