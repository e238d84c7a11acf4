/**
 * A real etcd cluster for tests: `etcd` from Debian's etcd-server package, 3 members
 * (or 1) on free loopback ports, each in a temporary data directory; killed and
 * removed by stop(). Tests that need it call etcdBinary() first and skip, loudly,
 * when it is missing (CI installs it).
 */
import type { Subprocess } from 'bun'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../src/runtime/free-port.ts'

export function etcdBinary(): string | undefined {
  const found = Bun.which('etcd') ?? ['/usr/bin/etcd', '/usr/local/bin/etcd'].find((p) => Bun.file(p).size > 0)
  if (!found) console.warn('SKIP: etcd not found (apt-get install etcd-server); etcd tests did not run')
  return found ?? undefined
}

export interface EtcdMember {
  name: string
  client: string
  peer: string
  dir: string
  proc?: Subprocess
}

export class EtcdCluster {
  readonly members: EtcdMember[] = []
  readonly dir = mkdtempSync(join(tmpdir(), 'heck-etcd-'))

  constructor(
    private readonly bin: string,
    size = 3,
  ) {
    for (let i = 0; i < size; i++) {
      const name = `e${i}`
      this.members.push({ name, client: `127.0.0.1:${freePort()}`, peer: `127.0.0.1:${freePort()}`, dir: join(this.dir, name) })
    }
  }

  /** "host:port,host:port,…" of the client URLs. */
  get endpoints(): string[] {
    return this.members.map((m) => m.client)
  }

  start(m: EtcdMember): void {
    const initial = this.members.map((x) => `${x.name}=http://${x.peer}`).join(',')
    m.proc = Bun.spawn(
      [
        this.bin,
        '--name', m.name,
        '--data-dir', m.dir,
        '--listen-client-urls', `http://${m.client}`,
        '--advertise-client-urls', `http://${m.client}`,
        '--listen-peer-urls', `http://${m.peer}`,
        '--initial-advertise-peer-urls', `http://${m.peer}`,
        '--initial-cluster', initial,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', `heck-test-${this.dir.slice(-6)}`,
        '--heartbeat-interval', '50',
        '--election-timeout', '500',
        '--log-level', 'error',
      ],
      { stdout: 'ignore', stderr: Bun.file(join(this.dir, `${m.name}.log`)) },
    )
  }

  async startAll(timeoutMs = 20_000): Promise<void> {
    for (const m of this.members) this.start(m)
    await this.waitHealthy(this.members, timeoutMs)
  }

  async waitHealthy(members: EtcdMember[], timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (const m of members) {
      for (;;) {
        try {
          const r = await fetch(`http://${m.client}/health`, { signal: AbortSignal.timeout(1000) })
          if (r.ok && ((await r.json()) as { health?: string }).health === 'true') break
        } catch {}
        if (Date.now() > deadline) throw new Error(`etcd ${m.name} not healthy within ${timeoutMs} ms (log: ${join(this.dir, `${m.name}.log`)})`)
        await Bun.sleep(100)
      }
    }
  }

  /** The member that is the Raft leader now. */
  async leader(): Promise<EtcdMember | undefined> {
    for (const m of this.members) {
      if (!m.proc || m.proc.exitCode !== null) continue
      try {
        const r = (await (await fetch(`http://${m.client}/v3/maintenance/status`, { method: 'POST', body: '{}' })).json()) as { leader?: string; header?: { member_id?: string } }
        if (r.leader && r.leader === r.header?.member_id) return m
      } catch {}
    }
    return undefined
  }

  kill(m: EtcdMember): Promise<number | null> {
    m.proc?.kill('SIGKILL')
    return m.proc?.exited ?? Promise.resolve(null)
  }

  async stop(): Promise<void> {
    for (const m of this.members) m.proc?.kill('SIGKILL')
    await Promise.all(this.members.map((m) => m.proc?.exited))
    rmSync(this.dir, { recursive: true, force: true })
  }
}
