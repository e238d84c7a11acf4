/**
 * The gossip port against strangers, on a live agent (the compiled binary): a raw
 * socket that sends one push/pull "join" gets the member list but no replicated state
 * unless it answers at the address it claims; forged pings never make the agent open a
 * stream to the address they name; another cluster's packets are dropped; frames too
 * big for the transport are counted; and an agent without --encrypt binds loopback and
 * says that its gossip is unauthenticated.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { SwimCodec } from '../../src/codec/swim-envelope.ts'
import { MsgTag, type Msg } from '../../src/codec/swim-messages.ts'
import { parseAgentArgs } from '../../src/cli/agent-flags.ts'
import { ensureBinary, eventually, freePort } from '../helpers/binary.ts'

const dir = mkdtempSync(join(tmpdir(), 'heck-strangers-'))
const procs: Subprocess[] = []
const servers: Server[] = []
afterAll(() => {
  for (const p of procs) p.kill('SIGKILL')
  for (const s of servers) s.close()
  rmSync(dir, { recursive: true, force: true })
})

interface Agent {
  http: string
  gossip: number
}

async function agent(name: string, extra: string[] = []): Promise<Agent> {
  const bin = await ensureBinary()
  const http = freePort()
  const gossip = freePort()
  const targets = join(dir, `${name}.yaml`)
  writeFileSync(targets, 'targets:\n  - {id: secret-url, url: "http://127.0.0.1:9/private?token=abc", interval: 60s}\n')
  const p = Bun.spawn([bin, 'agent', '--name', name, '--bind', `127.0.0.1:${gossip}`, '--http', `127.0.0.1:${http}`, '--targets', targets, '--log-level', 'warn', ...extra], {
    stdout: 'ignore',
    stderr: 'ignore',
  })
  procs.push(p)
  const api = `http://127.0.0.1:${http}`
  await eventually(async () => ((await (await fetch(`${api}/v1/health`)).json()) as { targets: unknown[] }).targets.length === 1, 15_000, `${name} up with its target`)
  return { http: api, gossip }
}

/** One request frame over TCP to `port`; resolves with the reply frame, or null when the agent closes without one. */
function exchange(port: number, frame: Uint8Array, timeoutMs = 3000): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = []
    let done = false
    const finish = (v: Uint8Array | null) => {
      if (done) return
      done = true
      clearTimeout(t)
      resolve(v)
    }
    const t = setTimeout(() => finish(null), timeoutMs)
    void Bun.connect({
      hostname: '127.0.0.1',
      port,
      socket: {
        open(s) {
          const out = new Uint8Array(4 + frame.length)
          new DataView(out.buffer).setUint32(0, frame.length)
          out.set(frame, 4)
          s.write(out)
        },
        data(_s, d) {
          chunks.push(new Uint8Array(d))
          const all = Buffer.concat(chunks)
          if (all.length >= 4 && all.length >= 4 + all.readUInt32BE(0)) finish(new Uint8Array(all.subarray(4, 4 + all.readUInt32BE(0))))
        },
        close: () => finish(null),
        error: () => finish(null),
      },
    }).catch(() => finish(null))
  })
}

function pushPullJoin(codec: SwimCodec, from: string, addr: string): Uint8Array {
  const m: Msg = { t: MsgTag.PushPull, join: true, from, states: [{ node: from, addr, inc: 0, state: 0, meta: {} }], user: new Uint8Array(0) }
  return codec.pack([codec.encodeMsg(m)])
}

async function metric(api: string, re: RegExp): Promise<number> {
  const text = await (await fetch(`${api}/metrics`)).text()
  const m = re.exec(text)
  return m ? Number(m[1]) : 0
}

let plain: Agent
beforeAll(async () => {
  plain = await agent('open')
})

test('a stranger that does not answer at the address it claims gets the member list, never the state', async () => {
  const reply = await exchange(plain.gossip, pushPullJoin(new SwimCodec(), 'stranger', '127.0.0.1:1'))
  expect(reply).not.toBeNull()
  const r = new SwimCodec().decode(reply as Uint8Array, true)
  expect(r.ok).toBe(true)
  const m = r.ok ? r.value.msgs[0] : undefined
  expect(m?.t).toBe(MsgTag.PushPull)
  if (m?.t !== MsgTag.PushPull) return
  expect(m.states.map((s) => s.node)).toContain('open')
  expect(m.user.length).toBe(0) // no replicated state: no target URL, no header
  expect(new TextDecoder().decode(reply as Uint8Array)).not.toContain('token=abc')
  // Its sync request is refused too: it is not a member this node has reached.
  const req = new SwimCodec().pack([new SwimCodec().encodeMsg({ t: MsgTag.UserRequest, from: 'stranger', payload: new Uint8Array([1]) })])
  const back = await exchange(plain.gossip, req)
  const rr = new SwimCodec().decode(back as Uint8Array, true)
  const e = rr.ok ? rr.value.msgs[0] : undefined
  expect(e?.t).toBe(MsgTag.StreamError)
  expect(new TextDecoder().decode(back as Uint8Array)).not.toContain('token=abc')
  expect(await metric(plain.http, /heck_packets_dropped_total\{reason="stranger"\} (\d+)/)).toBeGreaterThanOrEqual(1)
}, 30_000)

test('a real agent joining at its own address still gets the state at once', async () => {
  const bin = await ensureBinary()
  const http = freePort()
  const p = Bun.spawn([bin, 'agent', '--name', 'joiner', '--bind', `127.0.0.1:${freePort()}`, '--http', `127.0.0.1:${http}`, '--join', `127.0.0.1:${plain.gossip}`, '--log-level', 'warn'], {
    stdout: 'ignore',
    stderr: 'ignore',
  })
  procs.push(p)
  const body = await eventually(
    async () => {
      const h = (await (await fetch(`http://127.0.0.1:${http}/v1/health`)).json()) as { targets: Array<{ id: string }> }
      return h.targets.some((t) => t.id === 'secret-url') ? h : undefined
    },
    10_000,
    'the joiner holding the seed\'s target',
  )
  expect(body.targets.map((t) => t.id)).toContain('secret-url')
  p.kill('SIGTERM')
  await p.exited
}, 30_000)

test('100 forged pings naming an unknown sender open no stream to the address they name', async () => {
  let connections = 0
  const trap = createServer((s) => {
    connections++
    s.destroy()
  })
  servers.push(trap)
  const trapPort = await new Promise<number>((r) => trap.listen(0, '127.0.0.1', () => r((trap.address() as { port: number }).port)))
  const codec = new SwimCodec()
  const sock = await Bun.udpSocket({})
  for (let i = 0; i < 100; i++) {
    const ping: Msg = { t: MsgTag.Ping, seq: i + 1, target: 'open', from: `ghost-${i}`, addr: `127.0.0.1:${trapPort}` }
    sock.send(codec.pack([codec.encodeMsg(ping)]), plain.gossip, '127.0.0.1')
  }
  await Bun.sleep(3000) // the agent would have pushed its state within a probe period
  sock.close()
  expect(connections).toBe(0)
}, 30_000)

test('another cluster\'s packets are dropped, counted as cluster', async () => {
  const named = await agent('prod-1', ['--cluster-name', 'prod'])
  expect(await exchange(named.gossip, pushPullJoin(new SwimCodec(), 'other', '127.0.0.1:1'))).toBeNull()
  expect(await exchange(named.gossip, pushPullJoin(new SwimCodec(undefined, {}, undefined, 'staging'), 'other', '127.0.0.1:1'))).toBeNull()
  expect(await metric(named.http, /heck_packets_dropped_total\{reason="cluster"\} (\d+)/)).toBe(2)
  // The right name is answered.
  expect(await exchange(named.gossip, pushPullJoin(new SwimCodec(undefined, {}, undefined, 'prod'), 'other', '127.0.0.1:1'))).not.toBeNull()
}, 30_000)

test('a frame too big for the transport is refused before decoding and counted', async () => {
  await new Promise<void>((resolve) => {
    void Bun.connect({
      hostname: '127.0.0.1',
      port: plain.gossip,
      socket: {
        open(s) {
          const head = new Uint8Array(4)
          new DataView(head.buffer).setUint32(0, 100 * 1024 * 1024)
          s.write(head)
        },
        data() {},
        close: () => resolve(),
        error: () => resolve(),
      },
    })
  })
  expect(await metric(plain.http, /heck_packets_dropped_total\{reason="frame-oversized"\} (\d+)/)).toBe(1)
}, 30_000)

test('without --encrypt gossip binds loopback by default, a remote --join says what to pass, and /healthz warns', async () => {
  const a = parseAgentArgs([])
  expect(a !== 'help' && a.bind).toEqual({ host: '127.0.0.1', port: 7946 })
  const b = parseAgentArgs(['--encrypt', Buffer.alloc(32, 1).toString('base64')])
  expect(b !== 'help' && b.bind).toEqual({ host: '0.0.0.0', port: 7946 })
  expect(() => parseAgentArgs(['--join', '10.0.0.1:7946'])).toThrow(/--bind 0\.0\.0\.0:7946 .*--encrypt/)
  const h = (await (await fetch(`${plain.http}/healthz`)).json()) as { ok: boolean; warnings?: string[] }
  expect(h.ok).toBe(true)
  expect(h.warnings?.[0]).toMatch(/not encrypted or authenticated.*--encrypt/)
})
