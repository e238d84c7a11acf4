/**
 * Acknowledged API writes per second on one agent with --data-dir: C clients POST new
 * targets back to back for D seconds; every 201 counts. Run against two builds in the
 * same run to compare (the machine is shared; compare ratios within one run):
 *
 *   HECK_BIN_BEFORE=/path/to/old/heck bun bench/api-writes.ts      (after = dist/heck)
 *   CLIENTS=16 SECONDS=10 bun bench/api-writes.ts
 *
 * "after" answers each 201 once the write is in the journal on disk (state.sqlite,
 * synchronous=FULL, group commit); a build from before answered at once from memory.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { heckCommand } from './lib/heck.ts'
import { spawnTracked, stopChild } from './lib/procs.ts'
import { freePort } from './lib/sys.ts'

const CLIENTS = Number(process.env.CLIENTS ?? 16)
const SECONDS = Number(process.env.SECONDS ?? 10)

async function measure(label: string, cmd: string[]): Promise<{ label: string; perS: number; p50: number; p99: number; errors: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'heck-bench-writes-'))
  const http = freePort()
  const proc = spawnTracked([...cmd, 'agent', '--name', 'w', '--bind', `127.0.0.1:${freePort()}`, '--http', `127.0.0.1:${http}`, '--data-dir', dir, '--log-level', 'error'], {})
  const api = `http://127.0.0.1:${http}`
  const t0 = performance.now()
  while (performance.now() - t0 < 15_000) {
    if (await fetch(`${api}/healthz`).then((r) => r.ok, () => false)) break
    await Bun.sleep(50)
  }
  const lat: number[] = []
  let errors = 0
  let seq = 0
  const end = performance.now() + SECONDS * 1000
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      while (performance.now() < end) {
        const s = performance.now()
        const res = await fetch(`${api}/v1/targets`, { method: 'POST', body: JSON.stringify({ id: `b${c}-${seq++}`, tcp: '127.0.0.1:9', interval: '60s' }) })
        await res.arrayBuffer()
        if (res.status === 201) lat.push(performance.now() - s)
        else errors++
      }
    }),
  )
  await stopChild(proc)
  rmSync(dir, { recursive: true, force: true })
  lat.sort((a, b) => a - b)
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN
  return { label, perS: lat.length / SECONDS, p50: q(0.5), p99: q(0.99), errors }
}

const runs: Array<[string, string[]]> = []
if (process.env.HECK_BIN_BEFORE) runs.push([`before (${process.env.HECK_BIN_BEFORE})`, [process.env.HECK_BIN_BEFORE]])
const after = heckCommand()
runs.push([`after (${after.mode})`, after.cmd])
console.log(`acknowledged POST /v1/targets with --data-dir: ${CLIENTS} clients, ${SECONDS} s each, one agent on loopback`)
console.log('| build | writes/s | latency p50 (ms) | p99 (ms) | errors |')
console.log('|---|---|---|---|---|')
for (const [label, cmd] of runs) {
  const r = await measure(label, cmd)
  console.log(`| ${r.label} | ${r.perS.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.errors} |`)
}
process.exit(0)
