/**
 * Real `heck agent` processes (the compiled binary) on loopback: five agents,
 * encrypted, join through one seed. One is SIGKILLed and every survivor marks it
 * dead; one is SIGTERMed and every remaining agent marks it `left` with no
 * suspicion first; an agent with the wrong key cannot join and exits with a clear
 * error. Member changes are read from each agent's own event stream (/v1/events).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { generateKey } from '../../src/codec/keyring.ts'
import { AgentSet, type Agent } from '../helpers/agents.ts'
import { ensureBinary, eventually } from '../helpers/binary.ts'

let set: AgentSet
const key = generateKey()
const seen = new Map<string, Array<[string, string]>>() // agent → [member, state] in order
const streams: AbortController[] = []

/** Follows an agent's SSE stream, recording member events. */
function follow(a: Agent): void {
  const ctl = new AbortController()
  streams.push(ctl)
  const log: Array<[string, string]> = []
  seen.set(a.name, log)
  void (async () => {
    const res = await fetch(`${set.url(a)}/v1/events`, { signal: ctl.signal })
    let buf = ''
    for await (const chunk of res.body as ReadableStream<Uint8Array>) {
      buf += new TextDecoder().decode(chunk)
      let i: number
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        if (!block.includes('event: member')) continue
        const data = JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))?.slice(6) ?? '{}')
        log.push([data.name, data.state])
      }
    }
  })().catch(() => {})
}

async function stateOf(a: Agent, member: string): Promise<string | undefined> {
  const m = (await set.get(a, '/v1/members')).members as Array<{ name: string; state: string }>
  return m.find((x) => x.name === member)?.state
}

beforeAll(async () => {
  set = new AgentSet(await ensureBinary(), 5, { names: 'p', extraArgs: ['--encrypt', key] })
}, 120_000)

afterAll(async () => {
  for (const c of streams) c.abort()
  await set.stopAll()
})

test('5 heck agents: SIGKILL → dead everywhere, SIGTERM → left everywhere, wrong key refused', async () => {
  set.startAll()
  await eventually(async () => (await Promise.all(set.agents.map((a) => fetch(`${set.url(a)}/healthz`).then((r) => r.ok)))).every(Boolean), 20_000, 'agents up')
  for (const a of set.agents) follow(a)
  await set.waitConverged(20_000)

  const [, , , killed, leaver] = set.agents as [Agent, Agent, Agent, Agent, Agent]
  const t0 = performance.now()
  await set.kill(killed, 'SIGKILL')
  const survivors = set.agents.filter((a) => a !== killed)
  await eventually(async () => (await Promise.all(survivors.map((a) => stateOf(a, killed.name)))).every((s) => s === 'dead'), 20_000, `${killed.name} dead everywhere`)
  console.log(`SIGKILLed agent marked dead by all 4 survivors after ${(performance.now() - t0).toFixed(0)} ms (profile local)`)

  const t1 = performance.now()
  leaver.proc?.kill('SIGTERM')
  const rest = survivors.filter((a) => a !== leaver)
  await eventually(async () => (await Promise.all(rest.map((a) => stateOf(a, leaver.name)))).every((s) => s === 'left'), 5_000, `${leaver.name} left everywhere`)
  console.log(`SIGTERMed agent marked left by all 3 others after ${(performance.now() - t1).toFixed(0)} ms`)
  expect(await leaver.proc?.exited).toBe(0)
  await Bun.sleep(300) // let the last events arrive on the streams
  for (const a of rest) {
    const events = seen.get(a.name) ?? []
    // Straight from alive to left: no suspicion, no death on the way.
    expect(events.filter(([m, s]) => m === leaver.name && s !== 'alive').map(([, s]) => s)).toEqual(['left'])
    // Nobody alive was ever marked suspect-then-dead, except the one that was killed.
    expect(events.filter(([m, s]) => s === 'dead' && m !== killed.name)).toEqual([])
  }

  // A stranger with another key cannot join: the agent exits 1 with a clear message.
  const seed = set.agents[0] as Agent
  const bin = await ensureBinary()
  const intruder = Bun.spawn(
    [bin, 'agent', '--name', 'intruder', '--bind', '127.0.0.1:0', '--http', '127.0.0.1:0', '--profile', 'local', '--encrypt', generateKey(), '--join', `127.0.0.1:${seed.gossip}`, '--join-timeout', '3s'],
    { stdout: 'ignore', stderr: 'pipe' },
  )
  expect(await intruder.exited).toBe(1)
  expect(await new Response(intruder.stderr as ReadableStream).text()).toContain('could not join the cluster')
  for (const a of rest) expect(await stateOf(a, 'intruder')).toBeUndefined()
}, 90_000)
