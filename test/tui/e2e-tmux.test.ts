/**
 * End-to-end test of the compiled TUI in tmux, as it will really be used: the
 * binary is copied alone into an empty directory and run with the checkout
 * (and so node_modules/blessed) hidden behind a tmpfs inside `unshare -m`.
 * It attaches to a running agent (the compiled binary's own `heck agent`,
 * checking endpoints served by this test), then: members and targets appear,
 * a target made to fail turns unhealthy and the event log shows it, filter,
 * unhealthy-only, Tab and quit work, and the terminal is restored.
 * Runs under TERM=xterm-256color and TERM=screen. Needs tmux, unshare and root.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildTuiBinary } from './build-tui-binary.ts'
import { startFakeApi, type FakeApi } from './fake-api.ts'
import { hasTool, SOCKET, TmuxSession } from './tmux-driver.ts'

/** The pid of the TUI in a session: the process named heck that the pane's `unshare … sh` started. */
async function tuiPid(s: TmuxSession): Promise<number> {
  const shell = Number(Bun.spawnSync(['tmux', '-L', SOCKET, 'display-message', '-p', '-t', s.name, '#{pane_pid}']).stdout.toString().trim())
  const deadline = performance.now() + 5000
  const children = (pid: number) => Bun.spawnSync(['pgrep', '-P', String(pid)]).stdout.toString().trim().split('\n').filter(Boolean).map(Number)
  const comm = (pid: number) => Bun.spawnSync(['cat', `/proc/${pid}/comm`]).stdout.toString().trim()
  while (performance.now() < deadline) {
    // Breadth-first over the pane's descendants (tmux's shell, unshare's sh, then the TUI).
    const queue = [shell]
    while (queue.length) {
      const p = queue.shift() as number
      if (p !== shell && comm(p) === 'heck') return p
      queue.push(...children(p))
    }
    await Bun.sleep(100)
  }
  throw new Error('TUI pid not found')
}

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')
const isRoot = process.getuid?.() === 0
const missing = [!hasTool('tmux') && 'tmux', !hasTool('unshare') && 'unshare', !isRoot && 'root'].filter(Boolean)
if (missing.length) console.warn(`\n*** SKIP test/tui/e2e-tmux.test.ts: needs ${missing.join(', ')} ***\n`)

/** A port nobody listens on right now (TCP; the gossip port is checked for TCP too, which the agent also binds). */
function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const p = s.port as number
  s.stop(true)
  return p
}

const FARM_IDS = ['farm-1', 'farm-2', 'farm-3', 'farm-4', 'farm-5']

describe.skipIf(missing.length > 0)('compiled TUI in tmux, source tree hidden', () => {
  let dir = ''
  let farm: ReturnType<typeof Bun.serve> | undefined
  const failing = new Set<string>()
  let agent: ReturnType<typeof Bun.spawn> | undefined
  let fake: FakeApi | undefined
  let apiAddr = ''
  let backend = ''
  let entry: 'cli' | 'standalone' = 'cli'
  const sessions: TmuxSession[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'heck-tui-e2e-'))
    const built = join(dir, 'build', 'heck')
    // The real CLI when it builds; a TUI-only entry otherwise, so this area's test does not depend on others' work in progress.
    let err = await buildTuiBinary(built, 'cli')
    if (err) {
      console.warn(`*** e2e: the full CLI does not build (${err.split('\n')[0]}); testing the TUI-only binary ***`)
      entry = 'standalone'
      err = await buildTuiBinary(built, 'standalone')
    }
    if (err) throw new Error(`build failed: ${err}`)
    const bin = join(dir, 'bin')
    Bun.spawnSync(['mkdir', '-p', bin])
    copyFileSync(built, join(bin, 'heck'))
    Bun.spawnSync(['chmod', '+x', join(bin, 'heck')])
    rmSync(join(dir, 'build'), { recursive: true, force: true })

    farm = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(req) {
        const id = new URL(req.url).pathname.slice(1)
        return failing.has(id) ? new Response('down', { status: 503 }) : new Response('ok')
      },
    })
    const targets = join(dir, 'targets.yaml')
    writeFileSync(targets, `defaults:\n  interval: 500ms\n  timeout: 400ms\n  rise: 1\n  fall: 1\ntargets:\n${FARM_IDS.map((id) => `  - id: ${id}\n    url: http://127.0.0.1:${farm?.port}/${id}\n`).join('')}`)
    const httpPort = freePort()
    const gossipPort = freePort()
    apiAddr = `127.0.0.1:${httpPort}`
    // HECK_TUI_E2E_FAKE=1 forces the fake API backend (to test the TUI alone).
    if (entry === 'cli' && !process.env.HECK_TUI_E2E_FAKE) {
      agent = Bun.spawn([join(bin, 'heck'), 'agent', '--name', 'e2e-node', '--targets', targets, '--http', apiAddr, '--bind', `127.0.0.1:${gossipPort}`], { stdout: 'ignore', stderr: 'pipe' })
      const deadline = performance.now() + 8000
      while (performance.now() < deadline) {
        try {
          if ((await fetch(`http://${apiAddr}/healthz`)).ok) {
            backend = 'agent'
            break
          }
        } catch {}
        await Bun.sleep(100)
      }
      if (!backend) {
        agent.kill()
        console.warn(`*** e2e: agent did not answer on ${apiAddr}: ${(await new Response(agent.stderr as ReadableStream).text()).slice(0, 500)} ***`)
        agent = undefined
      }
    }
    if (!backend) {
      console.warn('*** e2e: no agent answered; using the fake API (test/tui/fake-api.ts) ***')
      fake = startFakeApi({ ids: FARM_IDS, members: 1 })
      apiAddr = fake.url.replace('http://', '')
      backend = 'fake'
    }
    console.log(`e2e: ${entry} binary, backend ${backend} at ${apiAddr}`)
  }, 60_000)

  afterAll(() => {
    for (const s of sessions) s.kill()
    TmuxSession.shutdown()
    agent?.kill()
    fake?.stop()
    farm?.stop(true)
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const fail = (id: string) => {
    if (backend === 'fake') fake?.set(id, 'unhealthy')
    else failing.add(id)
  }
  const idOf = (id: string) => id
  const rowOf = (screen: string, id: string) => screen.split('\n').find((l) => l.startsWith(`${idOf(id)} `)) ?? ''

  // screen and tmux-256color: blessed reads the system's screen entry, and its own embedded xterm-256color for any *256color*.
  for (const term of ['xterm-256color', 'screen', 'tmux-256color']) {
    test(`TERM=${term}`, async () => {
      failing.clear()
      for (const id of FARM_IDS) fake?.set(id, 'healthy')
      const cmd = `unshare -m sh -c 'mount -t tmpfs none ${root} && test ! -e ${root}/package.json || echo TREE-VISIBLE; cd ${dir}/bin && TERM=${term} LANG=C.UTF-8 ./heck tui --http ${apiAddr}; echo TUI-EXITED rc=$?; exec sleep 600'`
      const s = TmuxSession.start(`heck-e2e-${process.pid}-${term}`, cmd)
      sessions.push(s)
      const member = backend === 'agent' ? 'e2e-node' : 'node-1'

      // Members and targets appear.
      // Exactly healthy (a previous test's failure must have healed), so the failure below is a fresh transition.
      let screen = await s.waitFor('targets listed, all healthy', (x) => FARM_IDS.every((id) => rowOf(x, id).split(/\s+/)[1] === 'healthy') && x.includes('connected'))
      expect(screen).not.toContain('TREE-VISIBLE')
      expect(screen).toContain(`node ${member}`)
      expect(screen).toMatch(/members 1 alive/)
      expect(s.alternateOn()).toBe(true)

      // A target made to fail turns unhealthy, and the event log says so.
      fail('farm-3')
      screen = await s.waitFor('farm-3 unhealthy', (x) => rowOf(x, 'farm-3').includes('unhealthy') && x.includes(`${idOf('farm-3')} healthy → unhealthy`))
      expect(screen).toMatch(/1 unhealthy/)

      // Filter: only matching rows remain; Escape clears.
      s.keys('/')
      s.keys(idOf('farm-2'), true)
      s.keys('Enter')
      screen = await s.waitFor('filter applied', (x) => x.includes(`filter "${idOf('farm-2')}"`))
      expect(rowOf(screen, 'farm-2')).toContain('healthy')
      expect(rowOf(screen, 'farm-4')).toBe('')
      s.keys('Escape')
      await s.waitFor('filter cleared', (x) => rowOf(x, 'farm-4') !== '' && !x.includes('filter "'))

      // Shifted keys: G (bottom), S (reverse the sort); then g back to the top.
      s.keys('G')
      await s.waitFor('bottom', (x) => x.includes(`Targets ${FARM_IDS.length}/${FARM_IDS.length}`))
      s.keys('S')
      await s.waitFor('sort reversed', (x) => x.includes('STATUS▼'))
      s.keys('S')
      s.keys('g')
      await s.waitFor('top, sort restored', (x) => x.includes(`Targets 1/${FARM_IDS.length}`) && x.includes('STATUS▲'))

      // Unhealthy only.
      s.keys('u')
      screen = await s.waitFor('unhealthy only', (x) => x.includes('unhealthy only') && rowOf(x, 'farm-1') === '')
      expect(rowOf(screen, 'farm-3')).toContain('unhealthy')
      s.keys('u')

      // Members view.
      s.keys('Tab')
      screen = await s.waitFor('members view', (x) => x.includes('ADDRESS') && x.split('\n').some((l) => l.startsWith(member) && l.includes('alive')))

      // Quit restores the terminal: alternate screen left, cursor back, the shell's line visible.
      s.keys('q')
      screen = await s.waitFor('exit', (x) => x.includes('TUI-EXITED rc=0'))
      expect(s.alternateOn()).toBe(false)
      expect(s.cursorVisible()).toBe(true)
      expect(screen).not.toContain('STATUS')
      s.kill()
    }, 60_000)
  }

  test('resize, a too-small terminal, help and SIGTERM: redraws, then restores the terminal', async () => {
    const s = TmuxSession.start(`heck-e2e-${process.pid}-rs`, `unshare -m sh -c 'mount -t tmpfs none ${root} && cd ${dir}/bin && TERM=xterm-256color LANG=C.UTF-8 ./heck ${entry === 'cli' ? 'tui ' : ''}--http ${apiAddr}; echo TUI-EXITED rc=$?; exec sleep 600'`)
    sessions.push(s)
    await s.waitFor('targets listed', (x) => FARM_IDS.every((id) => rowOf(x, id) !== '') && x.includes('LAST ERROR'))
    s.resize(60, 20)
    let screen = await s.waitFor('narrow layout', (x) => !x.includes('LAST ERROR') && x.includes('SINCE'))
    expect(Math.max(...screen.split('\n').map((l) => l.length))).toBeLessThanOrEqual(60)
    s.resize(30, 6)
    await s.waitFor('too-small message', (x) => x.includes('terminal too small'))
    s.resize(120, 35)
    await s.waitFor('full layout again', (x) => x.includes('LAST ERROR'))
    s.keys('?')
    await s.waitFor('help', (x) => x.includes('any key closes this help'))
    s.keys('x')
    await s.waitFor('help closed', (x) => !x.includes('any key closes this help'))
    s.keys('Enter')
    await s.waitFor('detail pane', (x) => x.includes('owners (priority order)'))
    const pid = await tuiPid(s)
    process.kill(pid, 'SIGTERM')
    screen = await s.waitFor('exit on SIGTERM', (x) => x.includes('TUI-EXITED'))
    expect(screen).toContain('TUI-EXITED rc=0')
    expect(s.alternateOn()).toBe(false)
    expect(s.cursorVisible()).toBe(true)
    s.kill()
  }, 60_000)

  for (const how of ['throw', 'reject']) {
    test(`from source: a crash (${how}) restores the terminal, prints the error and exits 1`, async () => {
      const bun = process.execPath
      const s = TmuxSession.start(`heck-e2e-${process.pid}-crash-${how}`, `cd ${root} && TERM=xterm-256color LANG=C.UTF-8 ${bun} test/tui/crash-entry.ts http://${apiAddr} ${how} 2500; echo TUI-EXITED rc=$?; exec sleep 600`)
      sessions.push(s)
      await s.waitFor('targets listed', (x) => FARM_IDS.every((id) => rowOf(x, id) !== ''))
      expect(s.alternateOn()).toBe(true)
      const screen = await s.waitFor('exit after the crash', (x) => x.includes('TUI-EXITED'))
      expect(screen).toContain('TUI-EXITED rc=1')
      expect(screen).toContain(how === 'throw' ? 'deliberate crash' : 'deliberate rejection')
      expect(s.alternateOn()).toBe(false)
      expect(s.cursorVisible()).toBe(true)
      s.kill()
    }, 60_000)
  }

  test('NO_COLOR=1 draws without colour; colour is on otherwise', async () => {
    const run = async (env: string) => {
      const s = TmuxSession.start(`heck-e2e-${process.pid}-nc`, `unshare -m sh -c 'mount -t tmpfs none ${root} && cd ${dir}/bin && ${env} TERM=xterm-256color LANG=C.UTF-8 ./heck ${entry === 'cli' ? 'tui ' : ''}--http ${apiAddr}; exec sleep 600'`)
      sessions.push(s)
      await s.waitFor('targets listed', (x) => FARM_IDS.every((id) => rowOf(x, id) !== ''))
      const raw = s.capture(true)
      s.keys('q')
      await s.waitFor('exit', () => !s.alternateOn())
      s.kill()
      return raw
    }
    // SGR foreground colours: 30-37, 90-97, or 38;5;N.
    const colour = /\x1b\[[0-9;]*(?:(?<![0-9])3[0-7]|9[0-7]|38;5;[0-9]+)m/
    expect(await run('NO_COLOR=1')).not.toMatch(colour)
    expect(await run('')).toMatch(colour)
  }, 60_000)

  test('refuses with exit 2 when stdout is not a terminal', () => {
    const r = Bun.spawnSync([join(dir, 'bin', 'heck'), ...(entry === 'cli' ? ['tui'] : []), '--http', apiAddr], { stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' })
    expect(r.exitCode).toBe(2)
    expect(r.stderr.toString()).toContain('not a terminal')
  })

  test('refuses with exit 2 under TERM=dumb', async () => {
    const s = TmuxSession.start(`heck-e2e-${process.pid}-dumb`, `cd ${dir}/bin && TERM=dumb ./heck ${entry === 'cli' ? 'tui ' : ''}--http ${apiAddr}; echo TUI-EXITED rc=$?; exec sleep 600`)
    sessions.push(s)
    const screen = await s.waitFor('refusal', (x) => x.includes('TUI-EXITED'))
    expect(screen).toContain('TERM=dumb cannot draw')
    expect(screen).toContain('TUI-EXITED rc=2')
    s.kill()
  })
})
