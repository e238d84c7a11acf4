/**
 * A single-member etcd on loopback for `heck demo --store etcd`: the `etcd` binary
 * from the PATH (Debian's etcd-server), in a directory the caller owns, on free
 * ports. Plain process I/O; the demo stops it with the rest.
 */
import type { Subprocess } from 'bun'
import { join } from 'node:path'
import { freePort } from './free-port.ts'

/** The etcd binary, or undefined when it is not installed. */
export function findEtcd(): string | undefined {
  return Bun.which('etcd') ?? ['/usr/bin/etcd', '/usr/local/bin/etcd'].find((p) => Bun.file(p).size > 0)
}

export interface LocalEtcd {
  /** "127.0.0.1:PORT" of its client URL. */
  endpoint: string
  proc: Subprocess
  stop(): Promise<void>
}

/** Starts it and waits until /health says true; throws with the log's path otherwise. */
export async function startLocalEtcd(bin: string, dir: string, timeoutMs = 15_000): Promise<LocalEtcd> {
  const client = `127.0.0.1:${freePort()}`
  const peer = `127.0.0.1:${freePort()}`
  const log = join(dir, 'etcd.log')
  const proc = Bun.spawn(
    [bin, '--name', 'demo', '--data-dir', join(dir, 'etcd'), '--listen-client-urls', `http://${client}`, '--advertise-client-urls', `http://${client}`,
      '--listen-peer-urls', `http://${peer}`, '--initial-advertise-peer-urls', `http://${peer}`, '--initial-cluster', `demo=http://${peer}`, '--log-level', 'error'],
    { stdout: 'ignore', stderr: Bun.file(log), stdin: 'ignore' },
  )
  const stop = async () => {
    proc.kill('SIGTERM')
    await Promise.race([proc.exited, Bun.sleep(3000)])
    if (proc.exitCode === null) proc.kill('SIGKILL')
  }
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`etcd exited at start (code ${proc.exitCode}); see ${log}`)
    const ok = await fetch(`http://${client}/health`, { signal: AbortSignal.timeout(1000) }).then(async (r) => r.ok && ((await r.json()) as { health?: string }).health === 'true', () => false)
    if (ok) return { endpoint: client, proc, stop }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`etcd did not become healthy within ${timeoutMs} ms; see ${log}`)
    }
    await Bun.sleep(100)
  }
}
