/**
 * heck membership vs HashiCorp Serf on loopback, side by side (issue 4).
 * For each N: start N agents of each (lan profile, 1 s probe interval for both),
 * time full membership, measure RSS per agent and gossip bytes/s per node in a
 * steady window, SIGKILL agents one after another (KILLS, default 3) and time until
 * every survivor marks each dead;
 * count any live agent marked dead at any point.
 *
 *   bun bench/membership-vs-serf.ts [16,48]      (HECK_BIN=path to test another build)
 *
 * heck agents are the real `heck agent` (dist/heck, built first if missing) with no
 * targets, so the figures include everything an idle agent runs (membership,
 * replicated state, HTTP API). Times come from each agent's own change events
 * (heck: its JSON log lines "member X a -> b"; Serf: EventMemberJoin/Failed log
 * lines), read as they arrive. Bytes are counted by iptables on lo for the gossip ports (UDP and
 * TCP, IP headers included), so both systems are measured the same way. Needs
 * `serf` (apt-get install -y serf; installed here if missing) and root for iptables.
 */
import { existsSync, readFileSync } from 'node:fs'

type Sys = 'heck' | 'serf'
const ns = (process.argv[2] ?? '16,48').split(',').map(Number)
const ROOT = `${import.meta.dir}/..`
const BIN = process.env.HECK_BIN ?? `${ROOT}/dist/heck`
const CHAIN = 'HECK_MEMBENCH'
const STEADY_MS = 10_000
/** Agents SIGKILLed one after another (each once the previous is dead everywhere); detection is reported per kill. */
const KILLS = Number(process.env.KILLS ?? 3)

function sh(cmd: string[]): { ok: boolean; out: string } {
  const r = Bun.spawnSync(cmd, { stdout: 'pipe', stderr: 'pipe' })
  return { ok: r.exitCode === 0, out: r.stdout.toString() + r.stderr.toString() }
}

function ensureSerf(): void {
  if (sh(['which', 'serf']).ok) return
  console.log('installing serf (apt-get install -y serf)')
  sh(['apt-get', 'update', '-qq'])
  if (!sh(['apt-get', 'install', '-y', '-qq', 'serf']).ok) throw new Error('cannot install serf')
}

const ipt = (args: string[]) => sh(['iptables', ...args])
function countersOn(lo: number, hi: number): boolean {
  countersOff()
  if (!ipt(['-N', CHAIN]).ok) return false
  ipt(['-A', CHAIN, '-p', 'udp', '--sport', `${lo}:${hi}`, '-j', 'RETURN'])
  ipt(['-A', CHAIN, '-p', 'tcp', '--sport', `${lo}:${hi}`, '-j', 'RETURN'])
  ipt(['-A', CHAIN, '-p', 'tcp', '--dport', `${lo}:${hi}`, '-j', 'RETURN'])
  return ipt(['-I', 'OUTPUT', '-o', 'lo', '-j', CHAIN]).ok
}
function countersOff(): void {
  ipt(['-D', 'OUTPUT', '-o', 'lo', '-j', CHAIN])
  ipt(['-F', CHAIN])
  ipt(['-X', CHAIN])
}
function bytesCounted(): number {
  const r = ipt(['-L', CHAIN, '-v', '-x', '-n'])
  let sum = 0
  for (const line of r.out.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f[2] === 'RETURN') sum += Number(f[1])
  }
  return sum
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : NaN
  } catch {
    return NaN
  }
}

interface Agent {
  name: string
  proc: ReturnType<typeof Bun.spawn>
  alive: Set<string>
  deadAt: Map<string, number>
  ready: boolean
}

const falseDeaths: string[] = []

function watch(sys: Sys, a: Agent, victims: Set<string>): void {
  const dec = new TextDecoder()
  let buf = ''
  const onLine = (line: string) => {
    const now = performance.now()
    let member: string | undefined
    let state: 'alive' | 'dead' | 'left' | undefined
    if (sys === 'heck') {
      if (!line.startsWith('{')) return
      const o = JSON.parse(line) as { msg: string; member?: string; state?: string }
      if (o.msg === 'agent started') {
        a.ready = true
        a.alive.add(a.name)
        return
      }
      member = o.member
      state = o.state === 'alive' ? 'alive' : o.state === 'dead' ? 'dead' : o.state === 'left' ? 'left' : undefined
    } else {
      if (line.includes('Serf agent running')) a.ready = true
      const m = /EventMember(Join|Failed|Leave): (\S+)/.exec(line)
      if (!m) return
      member = m[2]
      state = m[1] === 'Join' ? 'alive' : m[1] === 'Failed' ? 'dead' : 'left'
    }
    if (!member || !state) return
    if (state === 'alive') a.alive.add(member)
    else a.alive.delete(member)
    if (state === 'dead') {
      if (!a.deadAt.has(member)) a.deadAt.set(member, now)
      if (!victims.has(member)) falseDeaths.push(`${sys}: ${a.name} marked ${member} dead`)
    }
  }
  void (async () => {
    const out = (sys === 'heck' ? a.proc.stderr : a.proc.stdout) as ReadableStream<Uint8Array>
    for await (const chunk of out) {
      buf += dec.decode(chunk, { stream: true })
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i))
        buf = buf.slice(i + 1)
      }
    }
  })()
}

async function until(pred: () => boolean, maxMs: number): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < maxMs) {
    if (pred()) return performance.now() - t0
    await Bun.sleep(20)
  }
  return NaN
}

async function run(sys: Sys, n: number, base: number) {
  const agents: Agent[] = []
  const victims = new Set<string>()
  const gossipPort = (i: number) => base + i
  const sidePort = (i: number) => base + 500 + i
  const spawn = (i: number) => {
    const name = `${sys[0]}${i}`
    const seed = `127.0.0.1:${gossipPort(0)}`
    const cmd =
      sys === 'heck'
        ? [BIN, 'agent', '--name', name, '--bind', `127.0.0.1:${gossipPort(i)}`, '--http', `127.0.0.1:${sidePort(i)}`, '--profile', 'lan', '--log-format', 'json', ...(i > 0 ? ['--join', seed] : [])]
        : ['serf', 'agent', `-node=${name}`, `-bind=127.0.0.1:${gossipPort(i)}`, `-rpc-addr=127.0.0.1:${sidePort(i)}`, '-profile=lan', '-log-level=info', ...(i > 0 ? [`-join=${seed}`] : [])]
    const io = sys === 'heck' ? ({ stdout: 'ignore', stderr: 'pipe' } as const) : ({ stdout: 'pipe', stderr: 'ignore' } as const)
    const a: Agent = { name, proc: Bun.spawn(cmd, io), alive: new Set(), deadAt: new Map(), ready: false }
    watch(sys, a, victims)
    agents.push(a)
    return a
  }
  try {
    const seed = spawn(0)
    if (Number.isNaN(await until(() => seed.ready, 20_000))) throw new Error(`${sys} seed did not start`)
    const tStart = performance.now()
    for (let i = 1; i < n; i++) spawn(i)
    const names = agents.map((a) => a.name)
    const full = await until(() => agents.every((a) => names.every((x) => a.alive.has(x))), 120_000)
    const fullMs = Number.isNaN(full) ? NaN : performance.now() - tStart
    await Bun.sleep(3000)
    const counting = countersOn(gossipPort(0), gossipPort(n - 1))
    const b0 = counting ? bytesCounted() : 0
    await Bun.sleep(STEADY_MS)
    const bytesPerNodeS = counting ? (bytesCounted() - b0) / (STEADY_MS / 1000) / n : NaN
    countersOff()
    const rss = agents.map((a) => rssMiB(a.proc.pid))
    const kills: Array<{ first: number; all: number; missed: number }> = []
    for (let k = 0; k < KILLS; k++) {
      const victim = agents[Math.floor(n / 2) + k] as Agent
      victims.add(victim.name)
      const t0 = performance.now()
      victim.proc.kill('SIGKILL')
      const survivors = agents.filter((a) => !victims.has(a.name))
      await until(() => survivors.every((a) => a.deadAt.has(victim.name)), 90_000)
      const seen = survivors.map((a) => (a.deadAt.get(victim.name) ?? NaN) - t0)
      kills.push({ first: Math.min(...seen), all: Math.max(...seen), missed: seen.filter(Number.isNaN).length })
      await Bun.sleep(2000)
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
    return {
      sys,
      n,
      fullMs,
      rssMeanMiB: rss.reduce((x, y) => x + y, 0) / rss.length,
      rssMaxMiB: Math.max(...rss),
      bytesPerNodeS,
      firstDeadMs: med(kills.map((x) => x.first)),
      allDeadMs: med(kills.map((x) => x.all)),
      allDeadEachMs: kills.map((x) => Math.round(x.all)),
      missed: kills.reduce((x, y) => x + y.missed, 0),
    }
  } finally {
    for (const a of agents) a.proc.kill('SIGKILL')
    await Promise.all(agents.map((a) => a.proc.exited))
    countersOff()
  }
}

ensureSerf()
if (!existsSync(BIN)) {
  console.log(`building ${BIN}`)
  if (!sh([process.execPath, 'run', `${ROOT}/scripts/build.ts`]).ok) throw new Error('build failed')
}
const rows: Awaited<ReturnType<typeof run>>[] = []
// Below the ephemeral range (32768+), so outgoing connections never take our ports.
let base = 24000
for (const n of ns) {
  for (const sys of ['heck', 'serf'] as const) {
    const r = await run(sys, n, base)
    base += 1000
    rows.push(r)
    console.log(JSON.stringify(r))
  }
}
const f = (x: number, d = 1) => (Number.isNaN(x) ? 'n/a' : x.toFixed(d))
console.log(`\n| system | N | full membership (s) | SIGKILL seen by first / all survivors, median of ${KILLS} (s) | all survivors, each kill (s) | RSS per agent mean / max (MiB) | gossip bytes/s per node |`)
console.log('|---|---|---|---|---|---|---|')
for (const r of rows) {
  console.log(`| ${r.sys} | ${r.n} | ${f(r.fullMs / 1000)} | ${f(r.firstDeadMs / 1000, 2)} / ${f(r.allDeadMs / 1000, 2)}${r.missed ? ` (${r.missed} never)` : ''} | ${r.allDeadEachMs.map((x) => f(x / 1000, 2)).join(', ')} | ${f(r.rssMeanMiB)} / ${f(r.rssMaxMiB)} | ${f(r.bytesPerNodeS, 0)} |`)
}
for (const n of ns) {
  const h = rows.find((r) => r.sys === 'heck' && r.n === n)
  const s = rows.find((r) => r.sys === 'serf' && r.n === n)
  if (h && s) console.log(`N=${n}: heck/serf detection (all survivors, medians) = ${f(h.allDeadMs / s.allDeadMs, 2)}`)
}
console.log(`live agents ever marked dead: ${falseDeaths.length}${falseDeaths.length ? `\n  ${falseDeaths.join('\n  ')}` : ''}`)
