import { describe, expect, test } from 'bun:test'
import { initialHealth, nextHealth, type HealthState } from '../../src/poller/rise-fall.ts'

const letter = (s: HealthState) => (s.status === 'unknown' ? '?' : s.status === 'unhealthy' ? 'X' : 'h')

/** Feeds results ('+' ok, '-' fail), one per second; returns the status letter and `since` after each. */
function run(seq: string, rise: number, fall: number, start: HealthState = initialHealth(0)): { statuses: string; since: number[] } {
  let s = start
  let statuses = ''
  const since: number[] = []
  ;[...seq].forEach((c, i) => {
    s = nextHealth(s, c === '+', { rise, fall }, (i + 1) * 1000)
    statuses += letter(s)
    since.push(s.since)
  })
  return { statuses, since }
}

describe('rise/fall', () => {
  // '?' unknown, 'h' healthy, 'X' unhealthy.
  test.each([
    ['++', 2, 3, '?h'],
    ['+', 2, 3, '?'],
    ['---', 2, 3, '??X'],
    ['+-+-+-', 2, 3, '??????'],
    ['++---', 2, 3, '?hhhX'],
    ['++--+---', 2, 3, '?hhhhhhX'],
    ['---++', 2, 3, '??XXh'],
    ['---+-++', 2, 3, '??XXXXh'],
    ['+', 1, 1, 'h'],
    ['-', 1, 1, 'X'],
    ['+-+-', 1, 1, 'hXhX'],
    ['++++', 3, 2, '??hh'],
    ['+--', 0, 0, 'hXX'], // thresholds below 1 act as 1
  ])('%s with rise %d fall %d → %s', (seq, rise, fall, want) => {
    expect(run(seq, rise, fall).statuses).toBe(want)
  })

  test('since is the time of the transition and stays put otherwise', () => {
    const { since } = run('++---++', 2, 3, initialHealth(0))
    // unknown since 0; healthy at check 2 (t=2000); unhealthy at check 5; healthy at check 7.
    expect(since).toEqual([0, 2000, 2000, 2000, 5000, 5000, 7000])
  })

  test('streaks count consecutive results', () => {
    let s = initialHealth(0)
    for (const ok of [true, true, false, false, false, true]) s = nextHealth(s, ok, { rise: 2, fall: 3 }, 1)
    expect(s).toMatchObject({ okStreak: 1, failStreak: 0, status: 'unhealthy' })
  })

  test('it is pure: the input state is not modified', () => {
    const s0 = initialHealth(5)
    const copy = { ...s0 }
    nextHealth(s0, true, { rise: 1, fall: 1 }, 10)
    expect(s0).toEqual(copy)
  })
})
