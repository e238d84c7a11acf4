/**
 * The logging seam: every part of the agent logs through a Logger, so a test can
 * capture or silence it. The real one (src/runtime/logger.ts) writes text or JSON
 * lines to stderr.
 */

export type Level = 'debug' | 'info' | 'warn' | 'error'
export type Logger = (level: Level, msg: string, fields?: Record<string, unknown>) => void

export const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export function isLevel(s: string): s is Level {
  return s in RANK
}

export const silentLogger: Logger = () => {}
