/**
 * Version 1 start-up: from launching `dist/heck agent --targets F --http 127.0.0.1:P`
 * until GET /healthz answers 200, median of 5 (goal ≤ 300 ms, issue 2).
 * /healthz is polled every 2 ms; the targets point at an in-process `heck farm`.
 * Builds dist/heck first when it is missing.
 *
 *   bun bench/v1-startup.ts [--runs 5] [--targets 100] [--source]
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startFarm } from '../src/farm/farm.ts'
import { ROOT, tmp, writeTemp } from './lib/heck.ts'
import { benchDeadline, finish, spawnTracked, stopChild } from './lib/procs.ts'
import { freePort, loadavg, machine } from './lib/sys.ts'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    runs: { type: 'string', default: '5' },
    targets: { type: 'string', default: '100' },
    source: { type: 'boolean', default: false },
  },
})
const runs = Number(values.runs)
const targets = Number(values.targets)
benchDeadline(300_000)

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

await finish(async () => {
  const dist = join(ROOT, 'dist/heck')
  let cmd = [dist]
  if (values.source) cmd = [process.execPath, join(ROOT, 'src/cli/main.ts')]
  else if (!existsSync(dist)) {
    console.log('dist/heck is missing: building it (bun run scripts/build.ts)')
    const b = spawnTracked([process.execPath, 'run', join(ROOT, 'scripts/build.ts')], { cwd: ROOT, stdout: 'inherit', stderr: 'inherit' })
    if ((await b.exited) !== 0 || !existsSync(dist)) throw new Error('build failed; cannot measure dist/heck start-up')
  }
  console.log(`v1-startup: ${values.source ? 'bun src/cli/main.ts' : 'dist/heck'} agent with ${targets} targets, ${runs} runs`)
  console.log(`machine: ${machine()}; load average ${loadavg()}`)
  const farm = startFarm({ port: 0, count: targets })
  const dir = tmp('startup')
  const file = writeTemp(dir, 'targets.yaml', farm.targetsYaml({ count: targets, intervalMs: 1000 }))
  const times: number[] = []
  try {
    for (let i = 0; i < runs; i++) {
      const port = freePort()
      const url = `http://127.0.0.1:${port}/healthz`
      const t0 = performance.now()
      const p = spawnTracked([...cmd, 'agent', '--targets', file, '--http', `127.0.0.1:${port}`, '--bind', `127.0.0.1:${freePort()}`, '--name', `startup-${i}`, '--log-level', 'warn'], { stdout: 'ignore', stderr: 'inherit' })
      let ms: number | undefined
      while (performance.now() - t0 < 10_000 && p.exitCode === null) {
        try {
          const r = await fetch(url)
          await r.arrayBuffer()
          if (r.status === 200) {
            ms = performance.now() - t0
            break
          }
        } catch {
          // not listening yet
        }
        await Bun.sleep(2)
      }
      await stopChild(p, 6000)
      if (ms === undefined) throw new Error(`run ${i + 1}: /healthz did not answer within 10 s (agent exit code ${p.exitCode})`)
      times.push(ms)
      console.log(`  run ${i + 1}: ${ms.toFixed(1)} ms`)
      await Bun.sleep(200)
    }
  } finally {
    await farm.stop()
  }
  const med = median(times)
  console.log(`\nresults: median ${med.toFixed(1)} ms (min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}) over ${runs} runs; load average at end ${loadavg()}`)
  console.log(`goals: start-up ≤ 300 ms: ${med <= 300 ? 'PASS' : 'FAIL'}`)
  return med <= 300 ? 0 : 1
})
