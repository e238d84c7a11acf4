/**
 * Who probes whom, and when: the `ring` probe schedule.
 *
 * SWIM (Das et al. 2002, §4.3) has each member walk a shuffled round-robin list, so
 * one prober reaches any given member within a bounded time. Cluster-wide, though,
 * N − 1 independent orders leave the time until *somebody* probes a crashed member
 * random: the earliest of N − 1 uniform draws over N − 1 periods, about one period on
 * average with a tail of several (P(> 3 periods) ≈ 4 % at N = 16). That wait is the
 * first term of every detection time.
 *
 * The ring schedule removes it, in the spirit of Rapid's monitoring rings (Suresh
 * et al. 2018): probe ticks are aligned to shared wall-clock rounds (each node at its
 * own fixed phase inside the round), and in round r the member at position i of the
 * sorted list of live members (self included) probes position i + 1 + (r mod (N − 1)).
 * For each r that is a permutation, so every live member is probed exactly once per
 * round, by a different prober each round; each prober still visits everyone in N − 1
 * rounds, as SWIM's round robin does. A crash is thus first probed within one period
 * (half on average). Where views or clocks disagree the schedule degrades to about as
 * good as random probing, never worse: clocks only need to agree to well within a
 * period (NTP does), and views converge within a few gossip rounds.
 *
 * Pure functions; tested against tables in test/membership/probe-schedule.test.ts.
 */

const mod = (a: number, n: number) => ((a % n) + n) % n

/**
 * Index of the round a tick at `nowMs` belongs to, for a node whose ticks sit at
 * `phaseMs` (0 ≤ phase < interval) into each round. Rounding to the nearest scheduled
 * tick keeps a timer that fires a little late in its own round.
 */
export function probeRound(nowMs: number, phaseMs: number, intervalMs: number): number {
  return Math.floor((nowMs - phaseMs + intervalMs / 2) / intervalMs)
}

/**
 * Milliseconds until this node's next tick: `every` rounds after the current one
 * (Lifeguard stretches the probe interval by its health multiplier, so a degraded
 * node skips rounds rather than drifting out of phase). Always > 0.
 */
export function msUntilNextTick(nowMs: number, phaseMs: number, intervalMs: number, every = 1): number {
  const next = (probeRound(nowMs, phaseMs, intervalMs) + Math.max(1, every)) * intervalMs + phaseMs
  return Math.max(1, next - nowMs)
}

/**
 * The member `self` probes in round `round`, given the live members (alive or
 * suspect) in sorted order, `self` included. Undefined when self is alone or absent.
 */
export function ringTarget(sorted: readonly string[], self: string, round: number): string | undefined {
  const n = sorted.length
  if (n < 2) return undefined
  const i = binarySearch(sorted, self)
  if (i < 0) return undefined
  return sorted[(i + 1 + mod(round, n - 1)) % n]
}

function binarySearch(xs: readonly string[], x: string): number {
  let lo = 0
  let hi = xs.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const v = xs[mid] as string
    if (v === x) return mid
    if (v < x) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}
