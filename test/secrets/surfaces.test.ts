/**
 * Secrets on the other surfaces of simulated agents (assembleAgent, as the CLI builds
 * them): the TUI's client reading the API, the log (the real text/JSON logger, captured),
 * webhook alerts, and the replicated state itself: every datagram and stream frame on
 * the simulated network, the snapshots and the journals of acknowledged writes.
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseTargetsText } from '../../src/config/targets-file.ts'
import type { GossipStateStore } from '../../src/gossip/gossip-state.ts'
import type { Prober } from '../../src/poller/prober.ts'
import { createLogger } from '../../src/runtime/logger.ts'
import { SecretValues } from '../../src/runtime/secret-values.ts'
import type { Clock } from '../../src/seams/clock.ts'
import { TuiClient } from '../../src/tui/client.ts'
import { AgentSim, SIM_TOKEN, type SimAgent } from '../sim/agent-sim.ts'

const write = (body: unknown) => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', authorization: `Bearer ${SIM_TOKEN}` },
})
const LITERAL = { id: 'lit', url: 'http://bob:URLSECRET@10.1.1.1/h', headers: { Authorization: 'Bearer SUPERSECRET' } }
const SECRETS = /SUPERSECRET|URLSECRET/

/** A TuiClient reading an in-process agent's API through app.request, on the simulation's clock. */
function tuiOn(sim: AgentSim, sa: SimAgent, token?: string): TuiClient {
  const fetchApp = ((input: string | URL | Request, init?: RequestInit) => sa.app.request(String(input), init)) as typeof fetch
  return new TuiClient({ baseUrl: 'http://n0.test', clock: sim.clock, onChange: () => {}, fetch: fetchApp, ...(token ? { token } : {}) })
}

describe('the TUI', () => {
  test('shows the target with its URL password redacted, and holds no secret in its state', async () => {
    const sim = new AgentSim({ seed: 2, agents: 1, targets: 0 })
    await sim.start()
    const sa = sim.get('n0')
    expect((await sa.app.request('/v1/targets', write(LITERAL))).status).toBe(201)
    const client = tuiOn(sim, sa)
    client.start()
    client.setDetail('lit')
    try {
      expect(await sim.runUntil(() => client.state.detail?.check !== undefined && client.state.targets.has('lit'), 10_000)).toBeGreaterThanOrEqual(0)
      expect(client.state.detail?.check).toBe('GET http://bob:<redacted>@10.1.1.1/h')
      await sim.run(3000) // events and polls while the target is checked
      expect(JSON.stringify({ ...client.state, targets: [...client.state.targets.values()] })).not.toMatch(SECRETS)
    } finally {
      client.stop()
    }
  })

  test('sends --token to an agent with --api-read-token, and says what to do without one', async () => {
    const sim = new AgentSim({ seed: 3, agents: 1, targets: 0, config: { apiReadToken: 'reader' } })
    await sim.start()
    const sa = sim.get('n0')
    const without = tuiOn(sim, sa)
    const withToken = tuiOn(sim, sa, 'reader')
    without.start()
    withToken.start()
    try {
      expect(await sim.runUntil(() => withToken.state.connected && without.state.lastError !== null, 10_000)).toBeGreaterThanOrEqual(0)
      expect(without.state.connected).toBe(false)
      expect(without.state.lastError).toContain('answered 401: the agent needs a token to read; pass --token TOKEN or set HECK_TOKEN')
      expect(withToken.state.node).toBe('n0')
    } finally {
      without.stop()
      withToken.stop()
    }
  })
})

describe('logs and alerts', () => {
  test('one warning per target with a literal secret, naming the header, never the value; alerts carry no URL password', async () => {
    const lines: string[] = []
    const log = createLogger({ level: 'debug', format: 'json', node: 'sim', write: (l) => lines.push(l) })
    const sim = new AgentSim({ seed: 4, agents: 1, targets: 0, log })
    await sim.start()
    const sa = sim.get('n0')
    const file = parseTargetsText(
      `targets:
  - {id: f1, url: "http://10.1.1.2/h", headers: {Cookie: "sid=COOKIESECRET", Host: h}}
  - {id: f2, url: "http://10.1.1.3/h", headers: {Authorization: {env: API_TOKEN}}}`,
      'targets.yaml',
    )
    sa.agent.applyFile(file)
    sa.agent.applyFile(file) // a reload of the same file: no second warning
    sa.agent.alerts.setHooks([{ url: 'http://hook.example/', headers: {} }])
    // Alerts go out for incidents: these three go down.
    for (const id of ['f1', 'f2', 'lit']) sim.farm.down.add(id)
    expect((await sa.app.request('/v1/targets', write(LITERAL))).status).toBe(201)
    expect(await sim.runUntil(() => sa.webhooks.length >= 3, 20_000)).toBeGreaterThanOrEqual(0)
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 'warn' && String(l.msg).startsWith('target "'))
    expect(warnings.map((w) => [w.target, w.source, w.literal])).toEqual([
      ['f1', 'targets file', ['header Cookie']],
      ['lit', 'API', ['header Authorization', 'url password']],
    ])
    expect(warnings[0].msg).toContain('target "f1": header Cookie is a literal value, replicated to every node (encrypted only with --encrypt)')
    expect(warnings[0].msg).toContain('write a header as {env: NAME} or {file: /path}')
    expect(warnings[1].msg).toContain('move the URL password into an Authorization header')
    expect(lines.join('')).not.toMatch(/SUPERSECRET|URLSECRET|COOKIESECRET/)
    const lit = sa.webhooks.map((w) => JSON.parse(w.body)).find((b) => b.target === 'lit')
    expect(lit.url).toBe('http://bob:<redacted>@10.1.1.1/h')
    expect(sa.webhooks.map((w) => w.body).join('')).not.toMatch(SECRETS)
  })
})

describe('the replicated state', () => {
  test('a target with {env} and {file} references puts the references, never the values, on the wire and on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'heck-gossip-secret-'))
    const envName = 'HECK_TEST_GOSSIP_TOKEN'
    const keyFile = join(dir, 'key')
    process.env[envName] = 'ENVSECRET-4f1c'
    writeFileSync(keyFile, 'FILESECRET-9a2b\n')
    try {
      // The checking node resolves the references as the real prober does (SecretValues), so the
      // values are in its hands at check time; the search below shows they go no further.
      const resolved: string[] = []
      const wrapProber = (name: string, clock: Clock, farm: Prober): Prober => {
        const values = new SecretValues({ nodeName: name, clock })
        return {
          async probe(t, signal) {
            if (t.check.kind === 'http') {
              for (const v of Object.values(t.check.headers)) {
                if (typeof v === 'string') continue
                const r = await values.resolve(v)
                if (r.ok) resolved.push(r.value)
              }
            }
            return farm.probe(t, signal)
          },
        }
      }
      const sim = new AgentSim({ seed: 5, agents: 2, targets: 0, wrapProber })
      const wire: Uint8Array[] = []
      const send = sim.net.send.bind(sim.net)
      sim.net.send = (from, to, data) => {
        wire.push(data)
        send(from, to, data)
      }
      const request = sim.net.request.bind(sim.net)
      sim.net.request = async (from, to, data, ms) => {
        wire.push(data)
        const reply = await request(from, to, data, ms)
        wire.push(reply)
        return reply
      }
      await sim.start()
      const n0 = sim.get('n0')
      const ref = { id: 'ref', url: 'http://10.1.1.1/h', headers: { Authorization: { env: envName }, 'X-Key': { file: keyFile } } }
      expect((await n0.app.request('/v1/targets', write(ref))).status).toBe(201)
      // The control: a literal value is replicated as it is (documented), so the search below can find one.
      expect((await n0.app.request('/v1/targets', write({ id: 'lit', url: 'http://10.1.1.2/h', headers: { Authorization: 'LITERALSECRET' } }))).status).toBe(201)
      const n1 = sim.get('n1')
      expect(await sim.runUntil(() => n1.agent.node.state.target('ref') !== undefined && n1.agent.node.state.target('lit') !== undefined, 20_000)).toBeGreaterThanOrEqual(0)
      expect(await sim.runUntil(() => resolved.includes('ENVSECRET-4f1c') && resolved.includes('FILESECRET-9a2b'), 20_000)).toBeGreaterThanOrEqual(0)
      await sim.run(2000)
      const bytes: Uint8Array[] = [...wire]
      for (const sa of [n0, n1]) {
        bytes.push((sa.agent.node.state as GossipStateStore).rs.snapshot(), ...sa.durable.entries())
        const saved = sa.durable.kv.get('crdt.snapshot')
        if (saved) bytes.push(saved)
      }
      const all = Buffer.concat(bytes.map((b) => Buffer.from(b)))
      // The tap saw the gossip: the literal went over the wire to n1.
      expect(Buffer.concat(wire.map((b) => Buffer.from(b))).includes('LITERALSECRET')).toBe(true)
      expect(all.includes('LITERALSECRET')).toBe(true)
      expect(all.includes(envName)).toBe(true)
      expect(all.includes(keyFile)).toBe(true)
      expect(all.includes('ENVSECRET')).toBe(false)
      expect(all.includes('FILESECRET')).toBe(false)
      expect(n1.agent.node.state.target('ref')?.check).toMatchObject({ headers: { Authorization: { env: envName }, 'X-Key': { file: keyFile } } })
    } finally {
      delete process.env[envName]
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
