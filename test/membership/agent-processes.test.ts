/**
 * Real processes on loopback: five membership agents (bench/lib/swim-agent.ts, the
 * startMembership facade in its own process, profile `local`, encrypted) join through
 * one seed. One is SIGKILLed and every survivor marks it dead; one is SIGTERMed and
 * every remaining agent marks it `left` with no suspicion first; an agent with the
 * wrong key cannot join and exits with a clear error. Every process is killed at the end.
 */
import { afterAll, expect, test } from 'bun:test'
import { generateKey } from '../../src/codec/keyring.ts'

const BUN = `${import.meta.dir}/../../node_modules/.bin/bun`
const AGENT = `${import.meta.dir}/../../bench/lib/swim-agent.ts`
const key = generateKey()
const procs: Array<ReturnType<typeof Bun.spawn>> = []

afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
})

interface Agent {
  name: string
  addr?: string
  proc: ReturnType<typeof Bun.spawn>
  seen: Array<[string, string]>
}

function spawnAgent(name: string, join?: string, k = key): Agent {
  const args = ['--name', name, '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--profile', 'local', '--encrypt', k]
  if (join) args.push('--join', join)
  const proc = Bun.spawn([BUN, AGENT, ...args], { stdout: 'pipe', stderr: 'pipe' })
  procs.push(proc)
  const a: Agent = { name, proc, seen: [] }
  void (async () => {
    let buf = ''
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      buf += new TextDecoder().decode(chunk)
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        const o = JSON.parse(buf.slice(0, i)) as { ev: string; addr?: string; member?: string; state?: string; members?: string[] }
        buf = buf.slice(i + 1)
        if (o.ev === 'ready') {
          a.addr = o.addr
          for (const m of o.members ?? []) a.seen.push([m, 'alive'])
        } else if (o.member && o.state) a.seen.push([o.member, o.state])
      }
    }
  })()
  return a
}

const stateOf = (a: Agent, m: string) => a.seen.filter(([x]) => x === m).at(-1)?.[1]

async function waitFor(pred: () => boolean, ms: number, what: string): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < ms) {
    if (pred()) return performance.now() - t0
    await Bun.sleep(25)
  }
  throw new Error(`timed out after ${ms} ms waiting for: ${what}`)
}

test('5 agent processes: SIGKILL → dead everywhere, SIGTERM → left everywhere, wrong key refused', async () => {
  const seed = spawnAgent('p0')
  await waitFor(() => !!seed.addr, 15_000, 'seed ready')
  const agents = [seed, ...[1, 2, 3, 4].map((i) => spawnAgent(`p${i}`, seed.addr))]
  const names = agents.map((a) => a.name)
  await waitFor(() => agents.every((a) => names.every((n) => stateOf(a, n) === 'alive')), 20_000, 'all five alive everywhere')

  const killed = agents[3] as Agent
  killed.proc.kill('SIGKILL')
  const survivors = agents.filter((a) => a !== killed)
  const tDead = await waitFor(() => survivors.every((a) => stateOf(a, 'p3') === 'dead'), 15_000, 'p3 dead everywhere')
  console.log(`SIGKILLed agent marked dead by all 4 survivors after ${tDead.toFixed(0)} ms`)

  const leaver = agents[4] as Agent
  leaver.proc.kill('SIGTERM')
  const rest = survivors.filter((a) => a !== leaver)
  const tLeft = await waitFor(() => rest.every((a) => stateOf(a, 'p4') === 'left'), 5_000, 'p4 left everywhere')
  console.log(`SIGTERMed agent marked left by all 3 others after ${tLeft.toFixed(0)} ms`)
  expect(await leaver.proc.exited).toBe(0)
  // Straight from alive to left: no suspicion, no death on the way.
  for (const a of rest) expect(a.seen.filter(([m, s]) => m === 'p4' && s !== 'alive').map(([, s]) => s)).toEqual(['left'])
  // Nobody alive was ever marked dead.
  for (const a of rest) expect(a.seen.filter(([m, s]) => s === 'dead' && m !== 'p3')).toEqual([])

  const intruder = spawnAgent('intruder', seed.addr, generateKey())
  expect(await intruder.proc.exited).not.toBe(0)
  expect(await new Response(intruder.proc.stderr as ReadableStream).text()).toContain('could not join the cluster')
  expect(rest.every((a) => stateOf(a, 'intruder') === undefined)).toBe(true)
}, 90_000)
