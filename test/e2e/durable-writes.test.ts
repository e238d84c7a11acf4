/**
 * Nothing acknowledged is lost: a single agent with --data-dir takes API writes from
 * several clients (adds and deletes), and is SIGKILLed at a random moment, again and
 * again, 60 times. After each restart every write that was answered 2xx is there (an
 * added target present, a deleted one absent). In a cluster a peer would usually carry
 * the write; alone, only the journal can.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { SeededRng } from '../../src/seams/rng.ts'
import { ensureBinary, eventually, freePort } from '../helpers/binary.ts'

const TRIALS = Number(process.env.KILL_TRIALS ?? 60)
const SEED = Number(process.env.SIM_SEED ?? 20)
const dir = mkdtempSync(join(tmpdir(), 'heck-durable-'))
let proc: Subprocess | undefined
afterAll(() => {
  proc?.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

test(`${TRIALS} kill -9s at random moments: every acknowledged write survives`, async () => {
  const bin = await ensureBinary()
  const rng = new SeededRng(SEED)
  const http = freePort()
  const gossip = freePort()
  const api = `http://127.0.0.1:${http}`
  const start = async () => {
    proc = Bun.spawn([bin, 'agent', '--name', 'solo', '--bind', `127.0.0.1:${gossip}`, '--http', `127.0.0.1:${http}`, '--data-dir', dir, '--log-level', 'warn'], {
      stdout: 'ignore',
      stderr: 'ignore',
    })
    await eventually(() => fetch(`${api}/healthz`).then((r) => r.ok), 15_000, 'agent up')
  }
  /** The state every acknowledged write leaves: id → present (true) or deleted (false). */
  const acked = new Map<string, boolean>()
  let seq = 0
  let lost: string[] = []
  await start()
  let trialsRun = 0
  for (let trial = 0; trial < TRIALS; trial++) {
    trialsRun++
    let stop = false
    const client = async (c: number) => {
      while (!stop) {
        const known = [...acked.keys()]
        const del = known.length > 4 && rng.next() < 0.2
        const id = del ? (known[rng.int(known.length)] as string) : `w${trial}-${c}-${seq++}`
        try {
          const res = del
            ? await fetch(`${api}/v1/targets/${id}`, { method: 'DELETE' })
            : await fetch(`${api}/v1/targets`, { method: 'POST', body: JSON.stringify({ id, tcp: '127.0.0.1:9', interval: '60s' }) })
          if (res.status === 201) acked.set(id, true)
          else if (res.status === 204) acked.set(id, false)
          // 404 (deleted already) changes nothing.
        } catch {
          // No answer (killed) promises nothing either way: a delete may or may not have
          // happened, so that target's fate is no longer known.
          if (del) acked.delete(id)
          return
        }
      }
    }
    const clients = [0, 1, 2, 3].map(client)
    await Bun.sleep(20 + rng.int(400))
    proc?.kill('SIGKILL')
    await proc?.exited
    stop = true
    await Promise.all(clients)
    await start()
    const res = await fetch(`${api}/v1/health`)
    const have = new Set(((await res.json()) as { targets: Array<{ id: string }> }).targets.map((t) => t.id))
    lost = [...acked].filter(([id, present]) => have.has(id) !== present).map(([id, present]) => `${id} ${present ? 'added' : 'deleted'}, trial ${trial}`)
    if (lost.length > 0) break
  }
  console.log(`${trialsRun} kills, ${acked.size} acknowledged writes (${[...acked.values()].filter((v) => !v).length} deletes), lost: ${lost.length}`)
  expect({ seed: SEED, lost }).toEqual({ seed: SEED, lost: [] })
  expect(acked.size).toBeGreaterThan(TRIALS)
}, 300_000)
