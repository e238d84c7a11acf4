import { expect, test } from 'bun:test'
import { Suspicion } from '../../src/membership/suspicion.ts'
import { SimClock } from '../sim/sim-clock.ts'

test('starts at max, shrinks with independent confirmations, ignores repeats', () => {
  const clock = new SimClock()
  let firedAt = -1
  const s = new Suspicion('a', 2, 1000, 6000, clock, () => (firedAt = clock.monotonic()))
  clock.advance(500)
  expect(s.confirm('a')).toBe(false) // the accuser does not count twice
  expect(s.confirm('b')).toBe(true)
  expect(s.confirm('b')).toBe(false)
  clock.advance(100)
  expect(s.confirm('c')).toBe(true) // k reached: timeout is now min, already past 600 ms? no: 1000
  expect(s.confirm('d')).toBe(false) // beyond k
  clock.advance(10_000)
  expect(firedAt).toBe(1000)
})

test('fires at max with no confirmations; cancel stops it', () => {
  const clock = new SimClock()
  let fired = 0
  new Suspicion('a', 2, 1000, 6000, clock, () => fired++)
  const s2 = new Suspicion('a', 2, 1000, 6000, clock, () => fired++)
  s2.cancel()
  clock.advance(5999)
  expect(fired).toBe(0)
  clock.advance(1)
  expect(fired).toBe(1)
})
