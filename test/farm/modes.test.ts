import { describe, expect, test } from 'bun:test'
import { decide, isDown, parseModeSpec, toMode, toSpec } from '../../src/farm/modes.ts'
import { SeededRng } from '../../src/seams/rng.ts'

const never = () => 0.5

describe('parseModeSpec', () => {
  test('accepts each mode with its options', () => {
    expect(parseModeSpec({ mode: 'ok' })).toEqual({ mode: 'ok' })
    expect(parseModeSpec({ mode: 'fail', status: 500, fault: 'close' })).toEqual({ mode: 'fail', status: 500, fault: 'close' })
    expect(parseModeSpec({ mode: 'slow', delay_ms: 250 })).toEqual({ mode: 'slow', delay_ms: 250 })
    expect(parseModeSpec({ mode: 'flap', period_ms: 100 })).toEqual({ mode: 'flap', period_ms: 100 })
    expect(parseModeSpec({ mode: 'flap', rate: 2 })).toEqual({ mode: 'flap', rate: 2 })
  })
  test('refuses bad input with a reason', () => {
    for (const bad of [null, [], 'fail', {}, { mode: 'down' }, { mode: 'fail', status: 99 }, { mode: 'fail', status: '503' },
      { mode: 'fail', fault: 'explode' }, { mode: 'slow', delay_ms: -1 }, { mode: 'flap', period_ms: 0 }, { mode: 'flap', rate: 0 },
      { mode: 'ok', colour: 'red' }]) {
      const r = parseModeSpec(bad)
      expect('error' in r).toBe(true)
    }
  })
})

describe('decide', () => {
  test('ok, fail and slow', () => {
    expect(decide(toMode({ mode: 'ok' }, 0, never), 5, never)).toEqual({ kind: 'ok', delayMs: 0 })
    expect(decide(toMode({ mode: 'fail' }, 0, never), 5, never)).toEqual({ kind: 'fail', status: 503, fault: 'status', delayMs: 0 })
    expect(decide(toMode({ mode: 'fail', fault: 'reset' }, 0, never), 5, never)).toMatchObject({ kind: 'fail', fault: 'reset' })
    expect(decide(toMode({ mode: 'slow' }, 0, never), 5, never)).toEqual({ kind: 'ok', delayMs: 1000 })
    expect(decide(toMode({ mode: 'slow', delay_ms: 40 }, 0, never), 5, never)).toEqual({ kind: 'ok', delayMs: 40 })
  })

  test('periodic flap fails for the first period, then alternates', () => {
    const m = toMode({ mode: 'flap', period_ms: 100, status: 500 }, 1000, never)
    const downAt = (t: number) => isDown(m, t, never)
    expect([1000, 1099, 1100, 1199, 1200, 1350, 10_000].map(downAt)).toEqual([true, true, false, false, true, false, true])
    expect(decide(m, 1000, never)).toMatchObject({ kind: 'fail', status: 500 })
  })

  test('random flap toggles at about `rate` per second, the same for the same seed', () => {
    const run = (seed: number) => {
      const rng = new SeededRng(seed)
      const random = () => rng.next()
      const m = toMode({ mode: 'flap', rate: 5 }, 0, random)
      let toggles = 0
      let prev = isDown(m, 0, random)
      const states: boolean[] = []
      for (let t = 1; t <= 100_000; t += 1) {
        const d = isDown(m, t, random)
        if (d !== prev) toggles++
        prev = d
        if (t % 1000 === 0) states.push(d)
      }
      return { toggles, states }
    }
    const a = run(7)
    // 100 s at 5 toggles/s: 500 expected; Poisson sd ≈ 22.
    expect(a.toggles).toBeGreaterThan(400)
    expect(a.toggles).toBeLessThan(600)
    expect(run(7)).toEqual(a)
  })

  test('a long quiet spell does not stall the catch-up', () => {
    const m = toMode({ mode: 'flap', rate: 1000 }, 0, Math.random)
    const t0 = performance.now()
    isDown(m, 3_600_000, Math.random)
    expect(performance.now() - t0).toBeLessThan(500)
    expect(m.nextToggleMs).toBeGreaterThan(3_600_000)
  })

  test('toSpec round-trips', () => {
    for (const s of [{ mode: 'fail', status: 500, fault: 'hang' }, { mode: 'slow', delay_ms: 30 }, { mode: 'flap', status: 503, fault: 'status', period_ms: 200 }] as const) {
      expect(toSpec(toMode(s, 0, never))).toEqual(s)
    }
  })
})
