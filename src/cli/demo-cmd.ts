/**
 * `heck demo [--nodes N] [--targets T] [--store gossip|etcd]`: the main job on
 * embedded defaults. It starts a target farm whose endpoints flap now and then, and
 * N agents of this same binary on loopback (with `--store etcd`, through a
 * single-member etcd it starts too), then shows the cluster live until Ctrl-C,
 * when it stops everything it started and removes its temporary files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { startFarm, type Farm } from '../farm/farm.ts'
import type { TargetHealth } from '../node/types.ts'
import { parseFlags } from './args.ts'
import { UsageError } from './errors.ts'
import { selfCommand } from './self.ts'
import { freePort } from '../runtime/free-port.ts'
import { healthSummary, healthTable } from './table.ts'
import { findEtcd, startLocalEtcd, type LocalEtcd } from '../runtime/local-etcd.ts'

export interface DemoNode {
  /** node-1 … node-N. */
  name: string
  httpPort: number
  gossipPort: number
  proc?: Subprocess
}

export class DemoCluster {
  readonly nodes: DemoNode[] = []
  readonly dir: string
  readonly targetsPath: string
  private stopping = false

  constructor(
    readonly farm: Farm,
    count: number,
    private readonly opts: { intervalMs: number; log: (msg: string) => void; storeArgs?: string[]; onStop?: () => Promise<void> },
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'heck-demo-'))
    this.targetsPath = join(this.dir, 'targets.yaml')
    writeFileSync(this.targetsPath, farm.targetsYaml({ count: farm.count, intervalMs: opts.intervalMs, rise: 2, fall: 2 }))
    for (let i = 1; i <= count; i++) this.nodes.push({ name: `node-${i}`, httpPort: freePort(), gossipPort: freePort() })
  }

  url(n: DemoNode): string {
    return `http://127.0.0.1:${n.httpPort}`
  }

  start(n: DemoNode): void {
    if (n.proc && n.proc.exitCode === null) return
    const seed = this.nodes[0] as DemoNode
    const args = [
      'agent',
      '--name', n.name,
      '--bind', `127.0.0.1:${n.gossipPort}`,
      '--http', `127.0.0.1:${n.httpPort}`,
      '--targets', this.targetsPath,
      '--profile', 'local',
      '--log-format', 'json',
      ...(this.opts.storeArgs ?? (n === seed ? [] : ['--retry-join', `127.0.0.1:${seed.gossipPort}`])),
    ]
    n.proc = Bun.spawn([...selfCommand(), ...args], {
      stdout: 'ignore',
      stderr: Bun.file(join(this.dir, `${n.name}.log`)),
      stdin: 'ignore',
    })
    n.proc.exited.then((code) => {
      if (!this.stopping && code !== 0 && code !== null) this.opts.log(`${n.name} exited with code ${code}; see ${join(this.dir, `${n.name}.log`)}`)
    })
  }

  kill(n: DemoNode, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): void {
    n.proc?.kill(signal)
  }

  async waitReady(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (const n of this.nodes) {
      for (;;) {
        if (n.proc?.exitCode !== null && n.proc?.exitCode !== undefined) {
          throw new Error(`${n.name} exited during start-up (code ${n.proc.exitCode}); see ${join(this.dir, `${n.name}.log`)}`)
        }
        const ok = await fetch(`${this.url(n)}/healthz`).then((r) => r.ok, () => false)
        if (ok) break
        if (Date.now() > deadline) throw new Error(`${n.name} did not answer on ${this.url(n)} within ${timeoutMs} ms`)
        await Bun.sleep(50)
      }
    }
  }

  /** Stops every agent (gracefully, then by force) and the farm; removes the temp dir. */
  async stop(): Promise<void> {
    this.stopping = true
    for (const n of this.nodes) n.proc?.kill('SIGTERM')
    await Promise.race([Promise.all(this.nodes.map((n) => n.proc?.exited)), Bun.sleep(6000)])
    for (const n of this.nodes) if (n.proc?.exitCode === null) n.proc.kill('SIGKILL')
    await this.farm.stop()
    await this.opts.onStop?.()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** The non-interactive view: a status table redrawn every second. */
async function liveTable(cluster: DemoCluster, signal: AbortSignal): Promise<void> {
  const tty = process.stdout.isTTY
  while (!signal.aborted) {
    const live = cluster.nodes.find((n) => n.proc?.exitCode === null)
    let out: string
    if (!live) out = 'no agent is running'
    else {
      const body = (await fetch(`${cluster.url(live)}/v1/health`).then((r) => r.json(), () => null)) as {
        node: string
        targets: TargetHealth[]
      } | null
      if (!body) out = `waiting for ${live.name}…`
      else {
        const now = Date.now()
        const t = body.targets.sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }))
        const shown = tty ? t.slice(0, Math.max(5, (process.stdout.rows ?? 30) - 6)) : t.filter((x) => x.status !== 'healthy')
        out = [
          `heck demo: ${cluster.nodes.length} agent(s), farm at ${cluster.farm.url}; answered by ${body.node}; Ctrl-C stops everything`,
          healthSummary(t),
          '',
          healthTable(shown, now),
        ].join('\n')
      }
    }
    process.stdout.write(tty ? `\x1b[H\x1b[2J${out}\n` : `${out}\n\n`)
    await Bun.sleep(tty ? 1000 : 5000)
  }
}

export async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseFlags('demo', args, {
    nodes: { type: 'string' },
    targets: { type: 'string' },
    'no-tui': { type: 'boolean' },
    store: { type: 'string' },
  })
  const storeKind = values.store ?? 'gossip'
  if (storeKind !== 'gossip' && storeKind !== 'etcd') throw new UsageError(`--store: expected gossip or etcd, got "${values.store}"`)
  const etcdBin = storeKind === 'etcd' ? findEtcd() : undefined
  if (storeKind === 'etcd' && !etcdBin) {
    throw new UsageError('--store etcd: the demo starts a local etcd, but no `etcd` is on the PATH; install it (Debian/Ubuntu: apt-get install etcd-server) or run the demo without --store')
  }
  const nodes = Number(values.nodes ?? 3)
  const targets = Number(values.targets ?? 50)
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64) throw new UsageError(`--nodes: expected 1 to 64, got "${values.nodes}"`)
  if (!Number.isInteger(targets) || targets < 1 || targets > 100_000) throw new UsageError(`--targets: expected 1 to 100000, got "${values.targets}"`)

  const farm = startFarm({ count: targets, flapRate: Math.max(0.05, targets / 500) })
  let etcd: LocalEtcd | undefined
  const storeArgs: string[] | undefined = etcdBin ? [] : undefined
  const cluster = new DemoCluster(farm, nodes, { intervalMs: 1000, log: (m) => process.stderr.write(`heck demo: ${m}\n`), storeArgs, onStop: async () => etcd?.stop() })
  if (etcdBin) {
    try {
      etcd = await startLocalEtcd(etcdBin, cluster.dir)
    } catch (e) {
      await cluster.stop()
      throw e
    }
    storeArgs?.push('--store', `etcd://${etcd.endpoint}/demo`, '--lease-ttl', '3s')
    process.stderr.write(`heck demo: etcd at ${etcd.endpoint} (single member); agents use --store etcd://${etcd.endpoint}/demo\n`)
  }
  const stop = new AbortController()
  let stopped: Promise<void> | undefined
  const shutdown = () => {
    stop.abort()
    stopped ??= cluster.stop()
    return stopped
  }
  process.on('SIGINT', () => void shutdown())
  process.on('SIGTERM', () => void shutdown())
  try {
    for (const n of cluster.nodes) cluster.start(n)
    await cluster.waitReady()
    if (process.stdout.isTTY && process.stdin.isTTY && !values['no-tui']) {
      const { runTui } = await import('./tui-cmd.ts')
      const home = cluster.nodes[0] as DemoNode
      return await runTui({
        baseUrl: cluster.url(home),
        // When the node the view is attached to is killed, the view moves to another.
        fallbackUrls: cluster.nodes.filter((n) => n !== home).map((n) => cluster.url(n)),
        title: `heck demo · ${nodes} node(s)${etcd ? ` · etcd ${etcd.endpoint}` : ''} · farm ${farm.url}`,
        demo: {
          killNode: (name) => {
            const n = cluster.nodes.find((x) => x.name === name)
            if (n) cluster.kill(n)
          },
          restartNode: (name) => {
            const n = cluster.nodes.find((x) => x.name === name)
            if (n) cluster.start(n)
          },
          flipTarget: (id) => {
            const ep = id.replace(/^t/, '')
            farm.setMode(ep, farm.mode(ep)?.mode === 'fail' ? { mode: 'ok' } : { mode: 'fail', status: 503 })
          },
        },
      })
    }
    await liveTable(cluster, stop.signal)
  } finally {
    await shutdown()
  }
  return 0
}
