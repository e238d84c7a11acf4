/**
 * The durable state file: group commit, the journal across a reopen, checkpoints,
 * a damaged file moved aside; and the replicated state's journal replay.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ReplicatedState } from '../../src/crdt/replicated-state.ts'
import { MemoryState, STATE_FILE, StateFile } from '../../src/history/state-file.ts'
import { Registry } from '../../src/metrics/registry.ts'
import { silentLogger } from '../../src/seams/log.ts'
import { SimClock } from '../sim/sim-clock.ts'

const withDir = async (fn: (dir: string) => Promise<void> | void) => {
  const dir = mkdtempSync(join(tmpdir(), 'heck-state-'))
  try {
    await fn(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe('state file', () => {
  test('writes appended in one turn share one commit; durable() waits for it; the journal survives a reopen', async () => {
    await withDir(async (dir) => {
      const clock = new SimClock()
      const metrics = new Registry()
      const f = StateFile.open(dir, { clock, log: silentLogger, metrics })
      for (let i = 0; i < 5; i++) f.append(bytes(`w${i}`))
      let done = false
      const ack = f.durable().then(() => (done = true))
      await Promise.resolve()
      expect(done).toBe(false) // not committed before the group's turn
      clock.advance(0)
      await ack
      expect(done).toBe(true)
      expect(metrics.render()).toMatch(/heck_state_commit_writes_count 1\b/)
      f.append(bytes('w5'))
      clock.advance(0)
      f.close()
      const g = StateFile.open(dir, { clock, log: silentLogger, metrics })
      expect(g.entries().map(text)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'w5'])
      g.close()
    })
  })

  test('a checkpoint stores the snapshot and empties the journal, pending writes included', async () => {
    await withDir((dir) => {
      const clock = new SimClock()
      const f = StateFile.open(dir, { clock, log: silentLogger })
      f.append(bytes('a'))
      clock.advance(0)
      f.append(bytes('b')) // not yet committed
      f.checkpoint('snap', bytes('S'))
      f.append(bytes('c'))
      f.close()
      const g = StateFile.open(dir, { clock, log: silentLogger })
      expect(text(g.kv.get('snap')!)).toBe('S')
      expect(g.entries().map(text)).toEqual(['c'])
      g.close()
    })
  })

  test('a damaged file is moved aside (never deleted) and a new one starts, counted', async () => {
    await withDir((dir) => {
      writeFileSync(join(dir, STATE_FILE), Buffer.alloc(8192, 0x5a))
      const metrics = new Registry()
      const lines: string[] = []
      const f = StateFile.open(dir, { clock: new SimClock(), log: (_l, m) => lines.push(m), metrics })
      expect(f.entries()).toEqual([])
      f.close()
      expect(readdirSync(dir).some((n) => n.startsWith(`${STATE_FILE}.corrupt-`))).toBe(true)
      expect(lines.join('\n')).toMatch(/state\.sqlite is damaged .* moved it to .*corrupt-/)
      expect(metrics.render()).toMatch(/heck_state_recovered_total 1/)
    })
  })

  test('a data dir that cannot hold the file says which and what to do', () => {
    const notDir = join(mkdtempSync(join(tmpdir(), 'heck-state-')), 'file')
    writeFileSync(notDir, 'x')
    expect(() => StateFile.open(notDir, { clock: new SimClock(), log: silentLogger })).toThrow(/--data-dir .*file/)
    expect(existsSync(notDir)).toBe(true)
  })
})

describe('journal replay', () => {
  test('writes after the last snapshot come back from the journal; replaying twice changes nothing', () => {
    const clock = new SimClock()
    const durable = new MemoryState()
    const make = () => new ReplicatedState({ replicaId: 'a#1', nodeName: 'a', clock, journal: (e) => durable.append(e) })
    const a = make()
    a.putTarget('api', 't1', { v: 1 })
    durable.checkpoint('snap', a.snapshot())
    a.putTarget('api', 't2', { v: 2 })
    a.removeTarget('t1')
    a.observe('t2', { status: 'healthy', since: 1, last: 1, term: 1, owner: 'a' }) // health is not journaled
    expect(durable.entries()).toHaveLength(2)

    const b = make()
    expect(b.restore(durable.kv.get('snap')!)).toBe(true)
    expect([...b.targets().keys()]).toEqual(['t1'])
    expect(b.replay(durable.entries())).toBe(2)
    expect([...b.targets().keys()]).toEqual(['t2'])
    expect(b.replay(durable.entries())).toBe(0)
    // A new write takes a dot after the replayed ones, so peers see it as new.
    b.putTarget('api', 't3', { v: 3 })
    expect(durable.entries()).toHaveLength(3)
    const c = make()
    c.restore(durable.kv.get('snap')!)
    c.replay(durable.entries())
    expect([...c.targets().keys()].sort()).toEqual(['t2', 't3'])
  })
})
