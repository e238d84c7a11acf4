/**
 * The demo keys end to end, from source in tmux: help lists them only when
 * demo controls are passed, F flips the selected target (through the fake
 * API), K and R call kill/restart with the selected target's owner.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { startFakeApi } from './fake-api.ts'
import { hasTool, TmuxSession } from './tmux-driver.ts'

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')
if (!hasTool('tmux')) console.warn('\n*** SKIP test/tui/demo-keys.e2e.test.ts: needs tmux ***\n')

describe.skipIf(!hasTool('tmux'))('demo keys', () => {
  const api = startFakeApi({ ids: ['web-1', 'web-2'], members: 2 })
  const sessions: TmuxSession[] = []
  afterAll(() => {
    for (const s of sessions) s.kill()
    TmuxSession.shutdown()
    api.stop()
  })

  test('help shows them; F flips the selected target; K/R act on its owner', async () => {
    const s = TmuxSession.start(`heck-demo-${process.pid}`, `cd ${root} && TERM=xterm-256color LANG=C.UTF-8 ${process.execPath} test/tui/demo-entry.ts ${api.url}; echo TUI-EXITED rc=$?; exec sleep 600`)
    sessions.push(s)
    await s.waitFor('list', (x) => x.includes('web-1') && x.includes('web-2') && x.includes('heck demo'))
    s.keys('?')
    await s.waitFor('demo help', (x) => x.includes("the selected target's owner"))
    s.keys('x')
    await s.waitFor('help closed', (x) => !x.includes('any key closes'))
    // Sorted by status then id: web-1 is selected.
    s.keys('F')
    let screen = await s.waitFor('web-1 flipped', (x) => x.includes('demo: flipping web-1') && x.includes('web-1 healthy → unhealthy'))
    s.keys('K')
    screen = await s.waitFor('kill owner', (x) => x.includes('demo: killing node-1') && x.includes('fake demo: kill node-1'))
    s.keys('R')
    screen = await s.waitFor('restart', (x) => x.includes('fake demo: restart node-1'))
    expect(screen).toContain('K/R/F demo')
    s.keys('q')
    await s.waitFor('exit', (x) => x.includes('TUI-EXITED rc=0'))
    s.kill()
  }, 30_000)
})
