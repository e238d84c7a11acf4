/**
 * Network namespaces for partition tests: one namespace holding a bridge (and
 * the farm), and one per host with a veth into that bridge. Addresses are in
 * 10.123.0.0/24 and exist only inside these namespaces, so no traffic leaves
 * them. Cutting is iptables inside the hosts' namespaces. Every namespace made
 * here is deleted by destroy(), which also removes its links and rules.
 */

export const SUBNET = '10.123.0'
export const BRIDGE_ADDR = `${SUBNET}.254`

export function run(cmd: string[], allowFail = false): { ok: boolean; out: string; err: string } {
  const r = Bun.spawnSync(cmd, { stdout: 'pipe', stderr: 'pipe' })
  const res = { ok: r.exitCode === 0, out: r.stdout.toString(), err: r.stderr.toString() }
  if (!res.ok && !allowFail) throw new Error(`${cmd.join(' ')} failed (${r.exitCode}): ${res.err.trim()}`)
  return res
}

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root'
  for (const tool of ['ip', 'iptables', 'curl']) if (!Bun.which(tool) && !Bun.which(tool, { PATH: '/usr/sbin:/sbin:/usr/bin' })) return `${tool} is missing`
  const probe = `hkprobe${process.pid}`
  const r = run(['ip', 'netns', 'add', probe], true)
  if (!r.ok) return `ip netns add failed: ${r.err.trim()}`
  const ipt = run(['ip', 'netns', 'exec', probe, 'iptables', '-L', '-n'], true)
  run(['ip', 'netns', 'del', probe], true)
  if (!ipt.ok) return `iptables inside a namespace failed: ${ipt.err.trim()}`
  return undefined
}

export class Netns {
  readonly bridgeNs: string
  readonly hosts: string[]
  private made: string[] = []

  constructor(prefix: string, hostCount: number) {
    this.bridgeNs = `${prefix}b`
    this.hosts = Array.from({ length: hostCount }, (_, i) => `${prefix}h${i + 1}`)
  }

  /** Host i (1-based) has address 10.123.0.i. */
  addr(i: number): string {
    return `${SUBNET}.${i}`
  }

  create(): void {
    const b = this.bridgeNs
    run(['ip', 'netns', 'add', b])
    this.made.push(b)
    run(['ip', '-n', b, 'link', 'set', 'lo', 'up'])
    run(['ip', '-n', b, 'link', 'add', 'br0', 'type', 'bridge'])
    run(['ip', '-n', b, 'addr', 'add', `${BRIDGE_ADDR}/24`, 'dev', 'br0'])
    run(['ip', '-n', b, 'link', 'set', 'br0', 'up'])
    this.hosts.forEach((h, idx) => {
      const i = idx + 1
      run(['ip', 'netns', 'add', h])
      this.made.push(h)
      run(['ip', '-n', h, 'link', 'set', 'lo', 'up'])
      // The veth is made inside the bridge namespace with its peer inside the host's.
      run(['ip', '-n', b, 'link', 'add', `vh${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h])
      run(['ip', '-n', b, 'link', 'set', `vh${i}`, 'master', 'br0'])
      run(['ip', '-n', b, 'link', 'set', `vh${i}`, 'up'])
      run(['ip', '-n', h, 'addr', 'add', `${this.addr(i)}/24`, 'dev', 'eth0'])
      run(['ip', '-n', h, 'link', 'set', 'eth0', 'up'])
    })
  }

  /** Drops all traffic between host namespaces `a` and `b` (1-based), both ways, on both sides. */
  cut(groupA: number[], groupB: number[]): void {
    for (const [mine, theirs] of [[groupA, groupB], [groupB, groupA]] as const)
      for (const i of mine)
        for (const j of theirs)
          for (const dir of [['-A', 'INPUT', '-s'], ['-A', 'OUTPUT', '-d']])
            run(['ip', 'netns', 'exec', this.hosts[i - 1] as string, 'iptables', dir[0] as string, dir[1] as string, dir[2] as string, this.addr(j), '-j', 'DROP'])
  }

  heal(): void {
    for (const h of this.hosts) {
      run(['ip', 'netns', 'exec', h, 'iptables', '-F', 'INPUT'])
      run(['ip', 'netns', 'exec', h, 'iptables', '-F', 'OUTPUT'])
    }
  }

  /** Runs an HTTP request with curl inside a namespace; returns status and body. */
  async fetch(ns: string, url: string, init: { method?: string; body?: string } = {}): Promise<{ status: number; body: string }> {
    const cmd = ['ip', 'netns', 'exec', ns, 'curl', '-s', '-m', '5', '-w', '\n%{http_code}', '-X', init.method ?? 'GET']
    if (init.body !== undefined) cmd.push('-H', 'content-type: application/json', '--data-binary', init.body)
    cmd.push(url)
    const p = Bun.spawn(cmd, { stdout: 'pipe', stderr: 'ignore' })
    const out = await new Response(p.stdout).text()
    await p.exited
    const nl = out.lastIndexOf('\n')
    return { status: Number(out.slice(nl + 1)), body: out.slice(0, nl) }
  }

  async json(ns: string, url: string): Promise<any> {
    const r = await this.fetch(ns, url)
    if (r.status !== 200) throw new Error(`${url} in ${ns}: ${r.status} ${r.body.slice(0, 200)}`)
    return JSON.parse(r.body)
  }

  destroy(): void {
    for (const ns of this.made.reverse()) run(['ip', 'netns', 'del', ns], true)
    this.made = []
  }
}
