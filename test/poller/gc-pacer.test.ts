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
