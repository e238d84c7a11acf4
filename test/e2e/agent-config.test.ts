/**
 * The agent as a service would run it (the compiled binary): settings from a config
 * file, secrets from the environment and files rather than argv, `--print-config`,
 * and gossip keys rotated by editing the keyring file and sending SIGHUP, with no
 * restart and no member lost.
 */
import { afterAll, expect, test } from 'bun:test'
import type { Subprocess } from 'bun'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureBinary, eventually, freePort } from '../helpers/binary.ts'

const dir = mkdtempSync(join(tmpdir(), 'heck-agent-config-e2e-'))
const procs: Subprocess[] = []
afterAll(() => {
  for (const p of procs) p.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

const K1 = Buffer.alloc(32, 11).toString('base64')
const K2 = Buffer.alloc(32, 22).toString('base64')

test('--print-config masks secrets; a bad config file exits 2 naming the file and the setting', async () => {
  const bin = await ensureBinary()
  const cfg = join(dir, 'print.yaml')
  writeFileSync(cfg, 'name: printer\nretry_join: 127.0.0.1:7001\n')
  const p = Bun.spawnSync([bin, 'agent', '--config', cfg, '--print-config'], { env: { ...process.env, HECK_API_TOKEN: 'tok-secret', HECK_ENCRYPT: K1 } })
  const out = p.stdout.toString()
  expect(p.exitCode).toBe(0)
  expect(out).toContain('name: printer')
  expect(out).toMatch(/api_token: "?<redacted>"?\n/)
  expect(out).not.toContain('tok-secret')
  expect(out).not.toContain(K1)
  writeFileSync(cfg, 'name: printer\nlog_levl: debug\n')
  const bad = Bun.spawnSync([bin, 'agent', '--config', cfg])
  expect(bad.exitCode).toBe(2)
  expect(bad.stderr.toString()).toMatch(/print\.yaml: log_levl: is not a setting/)
})

interface Node {
  name: string
  http: string
  gossip: number
  ring: string
  proc?: Subprocess
}

async function members(n: Node): Promise<Record<string, string>> {
  const r = (await (await fetch(`${n.http}/v1/members`)).json()) as { members: Array<{ name: string; state: string }> }
  return Object.fromEntries(r.members.map((m) => [m.name, m.state]))
}

async function start(bin: string, n: Node, seed?: Node, env: Record<string, string> = {}): Promise<void> {
  const cfg = join(dir, `${n.name}.yaml`)
  const httpPort = Number(n.http.split(':').pop())
  writeFileSync(
    cfg,
    [
      `name: ${n.name}`,
      `bind: 127.0.0.1:${n.gossip}`,
      `http: 127.0.0.1:${httpPort}`,
      'profile: local',
      ...(n.ring ? [`encrypt_file: ${n.ring}`] : []),
      ...(seed ? [`retry_join: [127.0.0.1:${seed.gossip}]`, 'retry_interval: 1s'] : []),
    ].join('\n'),
  )
  n.proc = Bun.spawn([bin, 'agent', '--config', cfg], { stdout: 'ignore', stderr: Bun.file(join(dir, `${n.name}.log`)), env: { ...process.env, ...env } })
  procs.push(n.proc)
  await eventually(async () => (await fetch(`${n.http}/healthz`).catch(() => undefined))?.ok, 10_000, `${n.name} up`)
}

test('gossip keys rotate through the keyring file and SIGHUP: no restart, no member lost, the old key then refused', async () => {
  const bin = await ensureBinary()
  const mk = async (name: string, ring: string): Promise<Node> => ({ name, http: `http://127.0.0.1:${await freePort()}`, gossip: await freePort(), ring })
  const ringA = join(dir, 'ring-a')
  const ringB = join(dir, 'ring-b')
  writeFileSync(ringA, `${K1}\n`, { mode: 0o600 })
  writeFileSync(ringB, `${K1}\n`, { mode: 0o600 })
  const a = await mk('rot-a', ringA)
  const b = await mk('rot-b', ringB)
  await start(bin, a)
  await start(bin, b, a)
  const allAlive = async (nodes: Node[], names: string[]) => {
    for (const n of nodes) {
      const m = await members(n)
      if (!names.every((x) => m[x] === 'alive')) return false
    }
    return true
  }
  await eventually(() => allAlive([a, b], [a.name, b.name]), 15_000, 'a and b alive at each other')

  // Step 1: the new key goes in second everywhere; step 2: it becomes the primary; step 3: the old one goes.
  for (const ring of [`${K1}\n${K2}\n`, `${K2}\n${K1}\n`, `# rotated\n${K2}\n`]) {
    writeFileSync(ringA, ring)
    writeFileSync(ringB, ring)
    a.proc!.kill('SIGHUP')
    b.proc!.kill('SIGHUP')
    await Bun.sleep(1500)
    expect(await allAlive([a, b], [a.name, b.name])).toBe(true)
  }
  expect(readFileSync(join(dir, `${a.name}.log`), 'utf8')).toContain('gossip keys replaced')

  // A newcomer with only the new key joins; one with only the old key is refused.
  const c = await mk('rot-c', '')
  await start(bin, c, a, { HECK_ENCRYPT: K2 })
  await eventually(() => allAlive([a, b, c], [a.name, b.name, c.name]), 15_000, 'c joined with the new key')
  const old = await mk('rot-old', '')
  const cfg = join(dir, 'old.yaml')
  writeFileSync(cfg, `name: rot-old\nbind: 127.0.0.1:${old.gossip}\nhttp: ${old.http.replace('http://', '')}\nprofile: local\njoin: [127.0.0.1:${a.gossip}]\njoin_timeout: 2s\n`)
  const refused = Bun.spawn([bin, 'agent', '--config', cfg], { stdout: 'ignore', stderr: 'pipe', env: { ...process.env, HECK_ENCRYPT: K1 } })
  procs.push(refused)
  expect(await refused.exited).toBe(1)
  expect(Object.keys(await members(a))).not.toContain('rot-old')

  // A keyring file that is broken is refused; the keys in use stay.
  writeFileSync(ringA, 'garbage\n')
  a.proc!.kill('SIGHUP')
  await eventually(() => readFileSync(join(dir, `${a.name}.log`), 'utf8').includes('keyring file refused'), 5_000, 'refusal logged')
  await Bun.sleep(1000)
  expect(await allAlive([a, b, c], [a.name, b.name, c.name])).toBe(true)
}, 90_000)
