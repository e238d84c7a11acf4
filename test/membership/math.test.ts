import { describe, expect, test } from 'bun:test'
import { applyHealthDelta, overrides, pushPullScaleMs, retransmitLimit, scaleByHealth, suspicionMinMs, suspicionTimeoutMs, type MemberState } from '../../src/membership/math.ts'
import { PROFILES } from '../../src/membership/config.ts'

describe('suspicion timeout (Lifeguard)', () => {
  test.each([
    // mult, n, probeIntervalMs, expected min
    [4, 1, 1000, 4000],
    [4, 5, 1000, 4000], // log10(5) < 1: floor of 1
    [4, 10, 1000, 4000],
    [4, 16, 1000, 4816],
    [4, 48, 1000, 6725],
    [4, 100, 1000, 8000],
    [4, 1000, 1000, 12000],
    [3, 5, 200, 600],
    [6, 100, 5000, 60000],
  ])('min(mult=%d, n=%d, interval=%d) = %d', (mult, n, iv, want) => {
    expect(suspicionMinMs(mult, n, iv)).toBe(want)
  })

  test.each([
    // c, k, min, max, expected
    [0, 2, 4000, 24000, 24000],
    [1, 2, 4000, 24000, 11381], // 24000 - 20000·log2/log3
    [2, 2, 4000, 24000, 4000],
    [5, 2, 4000, 24000, 4000], // never below min
    [0, 0, 4000, 24000, 4000], // nobody to confirm: min at once
    [1, 3, 1000, 6000, 3500], // 6000 - 5000·log2/log4
    [3, 3, 1000, 6000, 1000],
  ])('timeout(c=%d, k=%d, min=%d, max=%d) = %d', (c, k, min, max, want) => {
    expect(suspicionTimeoutMs(c, k, min, max)).toBe(want)
  })

  test('shrinks monotonically with confirmations', () => {
    let prev = Infinity
    for (let c = 0; c <= 6; c++) {
      const t = suspicionTimeoutMs(c, 6, 1000, 6000)
      expect(t).toBeLessThanOrEqual(prev)
      prev = t
    }
    expect(prev).toBe(1000)
  })
})

describe('retransmit limit', () => {
  test.each([
    [4, 1, 4],
    [4, 9, 4],
    [4, 10, 8],
    [4, 16, 8],
    [4, 99, 8],
    [4, 100, 12],
    [4, 1000, 16],
    [2, 5, 2],
  ])('mult=%d n=%d → %d', (mult, n, want) => {
    expect(retransmitLimit(mult, n)).toBe(want)
  })
})

describe('push/pull scale', () => {
  test.each([
    [30000, 10, 30000],
    [30000, 32, 30000],
    [30000, 33, 60000],
    [30000, 64, 60000],
    [30000, 65, 90000],
    [30000, 1000, 180000],
  ])('interval=%d n=%d → %d', (iv, n, want) => {
    expect(pushPullScaleMs(iv, n)).toBe(want)
  })
})

describe('local health', () => {
  test('scales by score + 1 and saturates in 0..max', () => {
    expect(scaleByHealth(500, 0)).toBe(500)
    expect(scaleByHealth(500, 8)).toBe(4500)
    expect(applyHealthDelta(0, -1, 8)).toBe(0)
    expect(applyHealthDelta(7, 3, 8)).toBe(8)
    expect(applyHealthDelta(4, -1, 8)).toBe(3)
  })
})

describe('state precedence', () => {
  const S: MemberState[] = ['alive', 'suspect', 'dead', 'left']
  // Rows: current state; columns: incoming claim at the SAME incarnation.
  const sameInc: Record<MemberState, boolean[]> = {
    alive: [false, true, true, true],
    suspect: [false, false, true, true],
    dead: [false, false, false, true],
    left: [false, false, false, false],
  }
  for (const cur of S)
    for (const [j, next] of S.entries()) {
      test(`${cur}@5 ← ${next}@5: ${sameInc[cur][j]}`, () => {
        expect(overrides(cur, 5, next, 5)).toBe(sameInc[cur][j] as boolean)
      })
      test(`${cur}@5 ← ${next}@6 wins, ${next}@4 loses`, () => {
        expect(overrides(cur, 5, next, 6)).toBe(true)
        expect(overrides(cur, 5, next, 4)).toBe(false)
      })
    }
})

describe('profiles', () => {
  test('every profile sets every knob, timeouts below intervals', () => {
    const keys = Object.keys(PROFILES.lan).sort()
    for (const p of Object.values(PROFILES)) {
      expect(Object.keys(p).sort()).toEqual(keys)
      expect(p.probeTimeoutMs).toBeLessThan(p.probeIntervalMs)
      expect(p.packetLimitBytes).toBeLessThanOrEqual(1400)
    }
  })
})
