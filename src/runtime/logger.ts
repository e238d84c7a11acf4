/**
 * Structured logging to stderr: `text` (one human line) or `json` (one object per
 * line), filtered by level. The Logger type is the seam (src/seams/log.ts).
 */
import { RANK, type Level, type Logger } from '../seams/log.ts'

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
