/**
 * Real agent processes on loopback for cluster tests and benchmarks: start N
 * agents of the compiled binary joined through the first, kill or restart any,
 * and ask any of them over HTTP. Every process started here is killed by stopAll().
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { eventually, freePort } from './binary.ts'

export interface Agent {
  name: string
  http: number
  gossip: number
  proc?: Subprocess
  dataDir?: string
}

export class AgentSet {
  readonly agents: Agent[] = []
  readonly dir = mkdtempSync(join(tmpdir(), 'heck-agents-'))

  constructor(
    private readonly bin: string,
    count: number,
    private readonly opts: { targetsPath?: string; profile?: string; extraArgs?: string[]; dataDirs?: boolean; names?: string } = {},
  ) {
    for (let i = 1; i <= count; i++) {
      const name = `${opts.names ?? 'a'}${i}`
      this.agents.push({ name, http: freePort(), gossip: freePort(), ...(opts.dataDirs ? { dataDir: join(this.dir, name) } : {}) })
    }
  }

  url(a: Agent): string {
    return `http://127.0.0.1:${a.http}`
  }

  /**
   * Starts (or restarts, same name and ports) one agent. It joins through the
   * first agent, or, when it is the first one and others run (a restarted seed),
   * through the first other running agent.
   */
  start(a: Agent): void {
    const first = this.agents[0] as Agent
    const seed = a === first ? this.running().find((x) => x !== a) : first
    const args = [
      'agent',
      '--name', a.name,
      '--bind', `127.0.0.1:${a.gossip}`,
      '--http', `127.0.0.1:${a.http}`,
      '--profile', this.opts.profile ?? 'local',
      '--log-level', 'warn',
      ...(this.opts.targetsPath ? ['--targets', this.opts.targetsPath] : []),
      ...(a.dataDir ? ['--data-dir', a.dataDir] : []),
      ...(seed ? ['--retry-join', `127.0.0.1:${seed.gossip}`] : []),
      ...(this.opts.extraArgs ?? []),
    ]
    a.proc = Bun.spawn([this.bin, ...args], { stdout: 'ignore', stderr: Bun.file(join(this.dir, `${a.name}.log`)), stdin: 'ignore' })
  }

  startAll(): void {
    for (const a of this.agents) this.start(a)
  }

  kill(a: Agent, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<number | null> {
    a.proc?.kill(signal)
    return a.proc?.exited ?? Promise.resolve(null)
  }

  running(): Agent[] {
    return this.agents.filter((a) => a.proc && a.proc.exitCode === null && a.proc.signalCode === null)
  }

  async get(a: Agent, path: string): Promise<any> {
    const r = await fetch(`${this.url(a)}${path}`, { signal: AbortSignal.timeout(5000) })
    return r.json()
  }

  /** Waits until every running agent sees every running agent alive. */
  async waitConverged(timeoutMs = 30_000): Promise<void> {
    await eventually(
      async () => {
        const live = this.running()
        for (const a of live) {
          const m = (await this.get(a, '/v1/members')).members as Array<{ name: string; state: string }>
          for (const b of live) if (m.find((x) => x.name === b.name)?.state !== 'alive') return false
        }
        return true
      },
      timeoutMs,
      'membership to converge',
    )
  }

  /** `heck status --json` asked of one agent through the binary, parsed. */
  async status(a: Agent): Promise<any> {
    const p = Bun.spawn([this.bin, 'status', '--json', '--http', `127.0.0.1:${a.http}`], { stdout: 'pipe', stderr: 'pipe' })
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited])
    if (code !== 0) throw new Error(`heck status --http ${a.http} exited ${code}: ${await new Response(p.stderr).text()}`)
    return JSON.parse(out)
  }

  log(a: Agent): Promise<string> {
    return Bun.file(join(this.dir, `${a.name}.log`)).text().catch(() => '')
  }

  async stopAll(): Promise<void> {
    for (const a of this.agents) a.proc?.kill('SIGKILL')
    await Promise.all(this.agents.map((a) => a.proc?.exited))
    rmSync(this.dir, { recursive: true, force: true })
  }
}
