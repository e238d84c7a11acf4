/**
 * Three hosts in network namespaces the test creates (veth pairs on one bridge),
 * each running `heck agent` (the compiled binary, profile `local`). The
 * test cuts one host off with iptables inside its namespace, checks that the other
 * two mark it dead, heals the cut and checks that it comes back alive everywhere
 * (through the push/pull reconnect to dead members); then it blocks only UDP for
 * that host and checks the TCP fallback keeps it alive. It removes everything it made.
 * Needs root, `ip` and `iptables`; otherwise it prints SKIP and skips.
 */
import { afterAll, expect, test } from 'bun:test'
import { ensureBinary } from '../helpers/binary.ts'

const run = (cmd: string[]) => Bun.spawnSync(cmd, { stdout: 'pipe', stderr: 'pipe' })
const ok = (cmd: string[]) => run(cmd).exitCode === 0
const canRun = process.getuid?.() === 0 && ok(['which', 'ip']) && ok(['which', 'iptables'])
if (!canRun) console.log('SKIP: network-namespace test needs root, ip and iptables')

const BR = 'hkswbr0'
const NS = [1, 2, 3].map((i) => `hksw-ns${i}`)
const ip = (i: number) => `10.231.77.${i + 1}`
const procs: Array<ReturnType<typeof Bun.spawn>> = []

function cleanup(): void {
  for (const p of procs) p.kill('SIGKILL')
  for (const ns of NS) run(['ip', 'netns', 'del', ns])
  run(['ip', 'link', 'del', BR])
}

afterAll(cleanup)

function setup(): void {
  cleanup()
  const must = (cmd: string[]) => {
    const r = run(cmd)
    if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr.toString()}`)
  }
  must(['ip', 'link', 'add', BR, 'type', 'bridge'])
  must(['ip', 'link', 'set', BR, 'up'])
  NS.forEach((ns, i) => {
    must(['ip', 'netns', 'add', ns])
    must(['ip', 'link', 'add', `hksw${i}a`, 'type', 'veth', 'peer', 'name', `hksw${i}b`])
    must(['ip', 'link', 'set', `hksw${i}b`, 'netns', ns])
    must(['ip', 'link', 'set', `hksw${i}a`, 'master', BR, 'up'])
    must(['ip', '-n', ns, 'addr', 'add', `${ip(i)}/24`, 'dev', `hksw${i}b`])
    must(['ip', '-n', ns, 'link', 'set', `hksw${i}b`, 'up'])
    must(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
  })
}

interface Host {
  name: string
  i: number
  states: Map<string, string>
}

let BIN = ''

function startAgent(i: number): Host {
  const h: Host = { name: `h${i}`, i, states: new Map() }
  const args = ['agent', '--name', h.name, '--bind', `${ip(i)}:7946`, '--http', `${ip(i)}:8080`, '--profile', 'local', '--log-level', 'warn']
  if (i > 0) args.push('--retry-join', `${ip(0)}:7946`, '--retry-interval', '500ms')
  procs.push(Bun.spawn(['ip', 'netns', 'exec', NS[i] as string, BIN, ...args], { stdout: 'ignore', stderr: 'inherit' }))
  return h
}

/** Refreshes a host's view of the members, asked inside its own namespace. */
function refresh(h: Host): void {
  const r = run(['ip', 'netns', 'exec', NS[h.i] as string, BIN, 'members', '--http', `${ip(h.i)}:8080`, '--json'])
  if (r.exitCode !== 0) return
  const body = JSON.parse(r.stdout.toString()) as { members: Array<{ name: string; state: string }> }
  for (const m of body.members) h.states.set(m.name, m.state)
}

async function waitFor(pred: () => boolean, ms: number, what: string, hosts: Host[]): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < ms) {
    for (const h of hosts) refresh(h)
    if (pred()) return performance.now() - t0
    await Bun.sleep(100)
  }
  throw new Error(`timed out after ${ms} ms waiting for: ${what}`)
}

test.skipIf(!canRun)('3 hosts in namespaces: a cut host is detected, and rejoins after the heal', async () => {
  BIN = await ensureBinary()
  setup()
  const hosts: Host[] = []
  hosts.push(startAgent(0))
  await waitFor(() => hosts[0]!.states.has('h0'), 15_000, 'h0 ready', hosts)
  hosts.push(startAgent(1), startAgent(2))
  const all = (state: string, who: Host[], about: string[]) => who.every((h) => about.every((m) => h.states.get(m) === state))
  await waitFor(() => all('alive', hosts, ['h0', 'h1', 'h2']), 20_000, 'all three alive everywhere', hosts)

  // Cut h2 off: drop everything in and out of its namespace except loopback.
  expect(ok(['ip', 'netns', 'exec', NS[2] as string, 'iptables', '-A', 'INPUT', '!', '-i', 'lo', '-j', 'DROP'])).toBe(true)
  expect(ok(['ip', 'netns', 'exec', NS[2] as string, 'iptables', '-A', 'OUTPUT', '!', '-o', 'lo', '-j', 'DROP'])).toBe(true)
  const tDead = await waitFor(() => all('dead', hosts.slice(0, 2), ['h2']), 30_000, 'h0 and h1 mark h2 dead', hosts)
  console.log(`netns: cut host marked dead by both others after ${tDead.toFixed(0)} ms`)

  expect(ok(['ip', 'netns', 'exec', NS[2] as string, 'iptables', '-F'])).toBe(true)
  const tBack = await waitFor(() => all('alive', hosts, ['h0', 'h1', 'h2']), 60_000, 'h2 alive again everywhere', hosts)
  console.log(`netns: after the heal, all three alive everywhere after ${tBack.toFixed(0)} ms`)

  // UDP blocked but TCP open (a firewall users hit with memberlist): the TCP fallback
  // ping and push/pull keep h2 alive; nobody may mark it dead over 10 s.
  expect(ok(['ip', 'netns', 'exec', NS[2] as string, 'iptables', '-A', 'INPUT', '-p', 'udp', '!', '-i', 'lo', '-j', 'DROP'])).toBe(true)
  expect(ok(['ip', 'netns', 'exec', NS[2] as string, 'iptables', '-A', 'OUTPUT', '-p', 'udp', '!', '-o', 'lo', '-j', 'DROP'])).toBe(true)
  const flips: string[] = []
  const t0 = performance.now()
  while (performance.now() - t0 < 10_000) {
    for (const h of hosts) refresh(h)
    for (const h of hosts) for (const m of ['h0', 'h1', 'h2']) if (h.states.get(m) === 'dead') flips.push(`${h.name} saw ${m} dead`)
    await Bun.sleep(100)
  }
  expect([...new Set(flips)]).toEqual([])
  run(['ip', 'netns', 'exec', NS[2] as string, 'iptables', '-F'])
}, 180_000)
