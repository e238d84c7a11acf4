/**
 * Lifeguard's local health (Dadgar et al. 2017, memberlist awareness.go): a score
 * in [0, awarenessMaxMultiplier] that rises when this node shows signs of being the
 * slow one (missed nacks, refuting claims about itself) and falls with each probe
 * answered. Probe timeouts and intervals stretch by (score + 1), so a struggling
 * node accuses others more slowly. Plain SWIM (lifeguard off) keeps the score at 0.
 */
import { applyHealthDelta, scaleByHealth } from './math.ts'

export class Awareness {
  private score = 0

  constructor(
    private readonly maxScore: number,
    private readonly enabled: boolean,
  ) {}

  /** The current score: 0 is healthy. */
  get health(): number {
    return this.score
  }

  adjust(delta: number): void {
    if (!this.enabled) return
    this.score = applyHealthDelta(this.score, delta, this.maxScore)
  }

  /** `ms` stretched by the score (unchanged when lifeguard is off). */
  scale(ms: number): number {
    return this.enabled ? scaleByHealth(ms, this.score) : ms
  }
}
