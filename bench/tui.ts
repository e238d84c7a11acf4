/**
 * TUI benchmark (issue 7): the compiled binary in tmux, attached to a fake
 * agent API (test/tui/fake-api.ts) serving 10,000 targets and emitting 100
 * health events per second. Measures, from outside the TUI process:
 *  - first frame: launch → the targets list on screen;
 *  - key latency: tmux send-keys → the change visible in capture-pane
 *    (j moves one row; s re-sorts 10,000 rows; u re-filters them);
 *  - CPU of the TUI process (utime+stime from /proc) while idle and while
 *    scrolling with j at 10 presses/s, events arriving throughout.
 *
 *   bun bench/tui.ts [--targets 10000] [--events 100] [--seconds 10] [--bin PATH]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildTuiBinary } from '../test/tui/build-tui-binary.ts'
import { startFakeApi } from '../test/tui/fake-api.ts'
import { TmuxSession } from '../test/tui/tmux-driver.ts'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { show: { type: 'boolean' }, targets: { type: 'string' }, events: { type: 'string' }, seconds: { type: 'string' }, bin: { type: 'string' }, term: { type: 'string' } },
})
const TARGETS = Number(values.targets ?? 10_000)
const EVENTS = Number(values.events ?? 100)
const SECONDS = Number(values.seconds ?? 10)
const TERM = values.term ?? 'xterm-256color'

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100 // CLK_TCK is 100 on Linux x86-64
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number
}
const summary = (xs: number[]) => `n=${xs.length} median ${pct(xs, 50).toFixed(1)} ms, p90 ${pct(xs, 90).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`

const dir = mkdtempSync(join(tmpdir(), 'heck-bench-tui-'))
let bin = values.bin
if (!bin) {
  bin = join(dir, 'heck')
  const err = await buildTuiBinary(bin, 'cli')
  if (err) throw new Error(err)
}
const api = startFakeApi({ targets: TARGETS, eventsPerSec: EVENTS, members: 5 })
const s = TmuxSession.start('bench', `exec env TERM=${TERM} LANG=C.UTF-8 HECK_TUI_TRACE=${join(dir, 'trace.json')} ${bin} tui --http ${api.url.replace('http://', '')}`, 120, 35)
const pid = Number(Bun.spawnSync(['tmux', '-L', (await import('../test/tui/tmux-driver.ts')).SOCKET, 'display-message', '-p', '-t', 'bench', '#{pane_pid}']).stdout.toString().trim())

const footer = (screen: string) => screen.trimEnd().split('\n').at(-1) ?? ''
const rowNo = (screen: string) => Number(/Targets (\d+)\//.exec(footer(screen))?.[1] ?? NaN)

async function timeKey(key: string, done: (screen: string) => boolean): Promise<number> {
  const t0 = performance.now()
  s.keys(key)
  for (;;) {
    if (done(s.capture())) return performance.now() - t0
    if (performance.now() - t0 > 5000) throw new Error(`key ${key}: no visible change in 5 s`)
  }
}

try {
  const t0 = performance.now()
  await s.waitFor('first frame', (x) => x.includes(`Targets 1/${TARGETS}`), 30_000)
  const firstFrameMs = performance.now() - t0
  await Bun.sleep(2500) // let the first poll, metrics and the event stream settle

  const c0 = cpuSeconds(pid)
  const w0 = performance.now()
  await Bun.sleep(SECONDS * 1000)
  const idlePct = ((cpuSeconds(pid) - c0) / ((performance.now() - w0) / 1000)) * 100

  const titles: Record<string, string> = { id: 'ID', status: 'STATUS', owner: 'OWNER', latency: 'LATENCY', since: 'SINCE', error: 'LAST ERROR' }
  const order = ['id', 'status', 'owner', 'latency', 'since', 'error']
  const sLat: number[] = []
  // Starts at status ascending; each s moves to the next (column, direction).
  let key = 'status'
  let sortDir = 1
  // 10 presses: status▼, owner▲ … error▼, id▲. Ending on id keeps row numbers stable under status churn for the j test.
  for (let i = 0; i < 10; i++) {
    if (sortDir === 1) sortDir = -1
    else {
      key = order[(order.indexOf(key) + 1) % order.length] as string
      sortDir = 1
    }
    const mark = `${titles[key]}${sortDir === 1 ? '▲' : '▼'}`
    sLat.push(await timeKey('s', (x) => (x.split('\n')[2] ?? '').includes(mark)))
    await Bun.sleep(200)
  }
  const jLat: number[] = []
  for (let i = 0; i < 40; i++) {
    const before = rowNo(s.capture())
    jLat.push(await timeKey('j', (x) => rowNo(x) === before + 1))
    await Bun.sleep(150)
  }
  const uLat: number[] = []
  for (let i = 0; i < 10; i++) {
    const on = i % 2 === 0
    uLat.push(await timeKey('u', (x) => footer(x).includes('unhealthy only') === on))
    await Bun.sleep(200)
  }

  const c1 = cpuSeconds(pid)
  const w1 = performance.now()
  let presses = 0
  while (performance.now() - w1 < SECONDS * 1000) {
    s.keys('j')
    presses++
    await Bun.sleep(100)
  }
  const scrollPct = ((cpuSeconds(pid) - c1) / ((performance.now() - w1) / 1000)) * 100

  // Holding j down: a typical key repeat rate of 30/s.
  const c2 = cpuSeconds(pid)
  const w2 = performance.now()
  let held = 0
  while (performance.now() - w2 < SECONDS * 1000) {
    s.keys('j')
    held++
    await Bun.sleep(33)
  }
  const holdPct = ((cpuSeconds(pid) - c2) / ((performance.now() - w2) / 1000)) * 100
  const afterHold = rowNo(s.capture())
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

  console.log(`TUI bench: ${TARGETS} targets, ${EVENTS} events/s, TERM=${TERM}, 120x35, binary ${bin}`)
  console.log(`first frame (launch → list on screen): ${firstFrameMs.toFixed(0)} ms`)
  console.log(`key j (move one row):       ${summary(jLat)}`)
  console.log(`key s (re-sort ${TARGETS}):    ${summary(sLat)}`)
  console.log(`key u (re-filter ${TARGETS}):  ${summary(uLat)}`)
  console.log(`CPU idle (${SECONDS}s, events arriving): ${idlePct.toFixed(1)}% of one core`)
  console.log(`CPU scrolling (j at 10/s, ${presses} presses): ${scrollPct.toFixed(1)}% of one core`)
  console.log(`CPU holding j (30/s, ${held} presses, cursor at row ${afterHold}): ${holdPct.toFixed(1)}% of one core`)
  console.log(`RSS: ${rss.toFixed(0)} MiB`)
  const screen = s.capture()
  const eventRows = screen.split('\n').filter((l) => /^\d\d:\d\d:\d\d farm-/.test(l)).length
  console.log(`event log rows on screen: ${eventRows} (events reach the TUI: ${eventRows > 0 ? 'yes' : 'NO'})`)
  if (process.env.SHOW) console.log(screen)
  s.keys('q')
  const q0 = performance.now()
  let alive = true
  while (alive && performance.now() - q0 < 5000) {
    try {
      alive = !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')
    } catch {
      alive = false
    }
    if (alive) await Bun.sleep(20)
  }
  console.log(alive ? 'warning: TUI did not exit on q within 5 s' : `q → process gone in ${(performance.now() - q0).toFixed(0)} ms`)
  try {
    const t = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8')) as { keyToFrameMs: number[]; frameMs: number[] }
    console.log(`inside the TUI, key received → its frame written: ${summary(t.keyToFrameMs)}`)
    console.log(`inside the TUI, cost of one frame (all frames):    ${summary(t.frameMs)}`)
  } catch (e) {
    console.log(`no trace: ${e instanceof Error ? e.message : String(e)}`)
  }
} finally {
  s.kill()
  TmuxSession.shutdown()
  api.stop()
  rmSync(dir, { recursive: true, force: true })
}
