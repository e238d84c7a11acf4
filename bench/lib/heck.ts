/**
 * Starting heck for benchmarks: the farm (always from source, since it is the
 * load's other end) and the agent (the compiled dist/heck when present, else
 * `bun src/cli/main.ts`; HECK_BIN=path or HECK_BENCH_SOURCE=1 override).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FarmStats } from '../../src/farm/farm.ts'
import { parseProm, type Samples } from './prom.ts'
import { spawnTracked, stopChild, waitForLine } from './procs.ts'
import { freePort } from './sys.ts'

export const ROOT = join(import.meta.dir, '../..')
const BUN = process.execPath

export function heckCommand(): { cmd: string[]; mode: string } {
  if (process.env.HECK_BIN) return { cmd: [process.env.HECK_BIN], mode: `binary ${process.env.HECK_BIN}` }
  const dist = join(ROOT, 'dist/heck')
  if (process.env.HECK_BENCH_SOURCE !== '1' && existsSync(dist)) return { cmd: [dist], mode: 'compiled dist/heck' }
  return { cmd: [BUN, join(ROOT, 'src/cli/main.ts')], mode: 'from source (bun src/cli/main.ts)' }
}

export type FarmProc = Awaited<ReturnType<typeof startFarmProc>>

/** Runs `heck farm --port 0` in its own process; returns its URL and a stats reader. */
export async function startFarmProc(args: string[]) {
  const proc = spawnTracked([BUN, join(ROOT, 'src/cli/main.ts'), 'farm', '--port', '0', ...args], { stderr: 'inherit' })
  const m = await waitForLine(proc, /listening on (http:\/\/\S+)/, 10_000)
  const url = m[1] as string
  return {
    proc,
    pid: proc.pid,
    url,
    async stats(query = 'summary=1'): Promise<FarmStats> {
      return (await (await fetch(`${url}/admin/stats?${query}`)).json()) as FarmStats
    },
    async targetsYaml(query: string): Promise<string> {
      const r = await fetch(`${url}/admin/targets.yaml?${query}`)
      if (!r.ok) throw new Error(`farm targets.yaml: ${r.status} ${await r.text()}`)
      return r.text()
    },
    stop: () => stopChild(proc),
  }
}

export const tmp = (label: string) => {
  const dir = mkdtempSync(join(tmpdir(), `heck-bench-${label}-`))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export function writeTemp(dir: string, name: string, text: string): string {
  const f = join(dir, name)
  writeFileSync(f, text)
  return f
}

/** Polls GET url until it answers 200; returns ms waited, or throws after timeoutMs. */
export async function waitFor200(url: string, timeoutMs: number, stepMs = 5): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < timeoutMs) {
    try {
      const r = await fetch(url)
      await r.arrayBuffer()
      if (r.status === 200) return performance.now() - t0
    } catch {
      // not listening yet
    }
    await Bun.sleep(stepMs)
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`)
}

export type AgentProc = Awaited<ReturnType<typeof startAgent>>

/** Starts `heck agent --targets FILE --http 127.0.0.1:PORT` as a cluster of one, and waits for /healthz. */
export async function startAgent(targetsFile: string, opts: { name?: string; extra?: string[]; readyTimeoutMs?: number } = {}) {
  const httpPort = freePort()
  const gossipPort = freePort()
  const { cmd } = heckCommand()
  const argv = [...cmd, 'agent', '--targets', targetsFile, '--http', `127.0.0.1:${httpPort}`, '--bind', `127.0.0.1:${gossipPort}`,
    '--name', opts.name ?? 'bench', '--log-level', 'warn', ...(opts.extra ?? [])]
  const t0 = performance.now()
  const proc = spawnTracked(argv, { stdout: 'inherit', stderr: 'inherit' })
  const base = `http://127.0.0.1:${httpPort}`
  const early = proc.exited.then((code) => {
    throw new Error(`agent exited with ${code} before /healthz answered: ${argv.join(' ')}`)
  })
  const readyMs = await Promise.race([waitFor200(`${base}/healthz`, opts.readyTimeoutMs ?? 30_000), early])
  void early.catch(() => {})
  return {
    proc,
    pid: proc.pid,
    base,
    argv,
    readyMs,
    startedAt: t0,
    async metrics(): Promise<Samples> {
      return parseProm(await (await fetch(`${base}/metrics`)).text())
    },
    stop: () => stopChild(proc, 6000),
  }
}
