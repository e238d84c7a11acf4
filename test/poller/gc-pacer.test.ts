import { expect, test } from 'bun:test'
import { startGcPacer } from '../../src/runtime/gc.ts'

// The pacer is edge code (the agent starts it); this only checks it runs and stops cleanly.
test('the GC pacer runs eden and full collections on its timers and stops', async () => {
  const stop = startGcPacer({ edenEveryMs: 2, fullEveryMs: 5 })
  await Bun.sleep(20)
  stop()
  stop()
  expect(startGcPacer({ edenEveryMs: 0, fullEveryMs: 0 })).toBeFunction()
})

test('with a work count, a beat collects only after enough work since the last collection of its kind', async () => {
  let work = 0
  const n = { eden: 0, full: 0 }
  const collect = { eden: () => void n.eden++, full: () => void n.full++ }
  const stop = startGcPacer({ edenEveryMs: 2, fullEveryMs: 5, fullAtMs: [], edenMinWork: 10, fullMinWork: 100, work: () => work, collect })
  await Bun.sleep(30)
  expect(n).toEqual({ eden: 0, full: 0 }) // no work, no collections
  work = 50
  await Bun.sleep(30)
  expect(n.eden).toBe(1) // one beat collects; the next ones see no new work
  expect(n.full).toBe(0)
  work = 200
  await Bun.sleep(30)
  expect(n.eden).toBe(2)
  expect(n.full).toBe(1)
  stop()
  stop()
})
