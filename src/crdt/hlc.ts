/**
 * Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014): a
 * timestamp (l, c) that stays close to wall time yet never goes backwards and
 * always exceeds every timestamp this node has seen. Wall time comes from the
 * Clock seam, so simulations drive it. A remote stamp further ahead of our wall
 * clock than `maxDriftMs` is refused rather than adopted, or one bad clock
 * would drag every node's HLC into the future.
 */
import type { Clock } from '../seams/clock.ts'

/** [wall ms, logical counter]. */
export type HlcStamp = [number, number]

export function compareHlc(a: HlcStamp, b: HlcStamp): number {
  return a[0] - b[0] || a[1] - b[1]
}

export function isHlcStamp(x: unknown): x is HlcStamp {
  return (
    Array.isArray(x) &&
    x.length === 2 &&
    Number.isSafeInteger(x[0]) &&
    Number.isSafeInteger(x[1]) &&
    (x[0] as number) >= 0 &&
    (x[1] as number) >= 0
  )
}

export class Hlc {
  private l = 0
  private c = 0

  constructor(private readonly clock: Clock, private readonly maxDriftMs: number) {}

  /**
   * Physical time in whole ms. The Clock seam promises ms, not whole ms (a simulated
   * clock advances by fractions), and a stamp must be integers or every peer's codec
   * refuses it: the whole-agent simulation found health deltas refused that way, each
   * leaving a hole that no sync could fill.
   */
  private physical(): number {
    return Math.floor(this.clock.now())
  }

  /** A fresh stamp for a local event. */
  now(): HlcStamp {
    const pt = this.physical()
    if (pt > this.l) {
      this.l = pt
      this.c = 0
    } else {
      this.c++
    }
    return [this.l, this.c]
  }

  /** True if a remote stamp is not implausibly far in the future. */
  plausible(ts: HlcStamp): boolean {
    return ts[0] <= this.clock.now() + this.maxDriftMs
  }

  /** Merges a remote stamp into the clock; returns false (and ignores it) if it is implausible. */
  observe(ts: HlcStamp): boolean {
    if (!this.plausible(ts)) return false
    const pt = this.physical()
    const l = Math.max(this.l, ts[0], pt)
    if (l === this.l && l === ts[0]) this.c = Math.max(this.c, ts[1]) + 1
    else if (l === this.l) this.c++
    else if (l === ts[0]) this.c = ts[1] + 1
    else this.c = 0
    this.l = l
    return true
  }

  peek(): HlcStamp {
    return [this.l, this.c]
  }
}
