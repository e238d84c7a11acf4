/**
 * Pure protocol math (SWIM, Lifeguard, memberlist): suspicion timeouts, the
 * broadcast retransmit limit, push/pull scaling and state precedence. No state,
 * no I/O: tested against tables in test/membership/math.test.ts.
 */

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'

/** Lifeguard's minimum suspicion timeout: α × max(1, log10 n) × probeInterval (ms). */
export function suspicionMinMs(mult: number, n: number, probeIntervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)))
  return Math.round(mult * nodeScale * probeIntervalMs)
}

/**
 * Lifeguard's dynamic suspicion timeout after `c` independent confirmations out of
 * `k` expected: max − (max − min) × log(c + 1) / log(k + 1), never below min.
 * With k = 0 there is nobody to confirm, so the minimum applies at once.
 */
export function suspicionTimeoutMs(c: number, k: number, minMs: number, maxMs: number): number {
  if (k <= 0) return minMs
  const frac = Math.log(c + 1) / Math.log(k + 1)
  const raw = maxMs - (maxMs - minMs) * frac
  return Math.max(minMs, Math.floor(raw))
}

/** Times each broadcast is sent: mult × ⌈log10(n + 1)⌉ (memberlist retransmitLimit). */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1))
}

/** memberlist pushPullScale: above 32 members the period grows with log2(n / 32) + 1. */
export function pushPullScaleMs(intervalMs: number, n: number): number {
  const threshold = 32
  if (n <= threshold) return intervalMs
  const mult = Math.ceil(Math.log2(n) - Math.log2(threshold)) + 1
  return intervalMs * mult
}

/** Lifeguard local health: timeouts scale by (score + 1). */
export function scaleByHealth(ms: number, score: number): number {
  return ms * (score + 1)
}

/** Saturating update of the local-health score in [0, max] (Lifeguard's 0..8). */
export function applyHealthDelta(score: number, delta: number, max: number): number {
  return Math.min(max, Math.max(0, score + delta))
}

const rank: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 }

/**
 * Whether a message claiming `next` at incarnation `nextInc` replaces what is known
 * (`cur` at `curInc`). A higher incarnation always wins; at equal incarnation only a
 * stronger claim does (suspect over alive, dead over both, left over all), so an
 * alive claim needs a strictly higher incarnation: that is how a node refutes.
 */
export function overrides(curState: MemberState, curInc: number, next: MemberState, nextInc: number): boolean {
  if (nextInc > curInc) return true
  if (nextInc < curInc) return false
  return rank[next] > rank[curState]
}
