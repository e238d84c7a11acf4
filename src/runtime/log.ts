/**
 * Structured logging to stderr: `text` (one human line) or `json` (one object per
 * line), filtered by level. Every part of the agent logs through a Logger, so a
 * test can capture or silence it.
 */

export type Level = 'debug' | 'info' | 'warn' | 'error'
export type Logger = (level: Level, msg: string, fields?: Record<string, unknown>) => void

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export function isLevel(s: string): s is Level {
  return s in RANK
}

export function createLogger(opts: { level: Level; format: 'text' | 'json'; node?: string; write?: (line: string) => void }): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line))
  const min = RANK[opts.level]
  return (level, msg, fields) => {
    if (RANK[level] < min) return
    const ts = new Date().toISOString()
    if (opts.format === 'json') {
      write(`${JSON.stringify({ ts, level, node: opts.node, msg, ...fields })}\n`)
      return
    }
    const extra = fields
      ? Object.entries(fields)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
          .join(' ')
      : ''
    write(`${ts} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? ` ${extra}` : ''}\n`)
  }
}

export const silentLogger: Logger = () => {}
