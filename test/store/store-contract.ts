/**
 * One contract for every ClusterStore (node/cluster-store.ts), run against gossip
 * and etcd alike: what the node above relies on, whichever way the nodes agree.
 * A factory makes two connected stores; optional hooks cover what only one kind
 * can do (an etcd lease lapsing, a watch dropped).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { validateTarget } from '../../src/config/targets-file.ts'
import type { ClusterStore } from '../../src/node/cluster-store.ts'
import type { HealthRecord } from '../../src/node/state-store.ts'

export interface StorePair {
  a: ClusterStore
  b: ClusterStore
  close(): Promise<void>
  /** Makes `a` lose its right to write (etcd: its lease ends); absent where the store fences by term alone. */
  lapse?(): Promise<void>
  /** Drops `a`'s connection to the shared state for a moment (etcd: its watch); it must catch up. */
  disconnect?(): void
  /** After a disconnect: whether `a` caught up by resuming (not by reading everything again). */
  resumed?(): boolean
}

const t = (id: string, url = 'http://127.0.0.1:1/') => validateTarget({ id, url })
const rec = (id: string, owner: string, term: number, status: HealthRecord['status'] = 'healthy'): HealthRecord => ({
  id,
  status,
  since: 1_000 + term,
  owner,
  term,
  last: { ok: status === 'healthy', latency_ms: 1, checked_at: 2_000 + term, checker: owner },
})

async function until(what: string, fn: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(25)
  }
}

export function storeContract(kind: string, make: () => Promise<StorePair> | undefined): void {
  describe(`store contract: ${kind}`, () => {
    let p: StorePair | undefined
    beforeAll(async () => {
      p = await make()
    }, 60_000)
    afterAll(async () => p?.close())
    const run = (name: string, fn: (p: StorePair) => Promise<void>) => test(name, async () => {
      if (!p) return console.warn(`SKIP store contract (${kind}): its store is not available here`)
      await fn(p)
    }, 30_000)

    run('registry: add, replace and delete through one store show on the other', async ({ a, b }) => {
      expect(await a.state.putTarget(t('c1'))).toBe(false)
      await until('c1 on b', () => b.state.target('c1') !== undefined)
      expect(await a.state.putTarget(t('c1', 'http://127.0.0.1:2/'))).toBe(true)
      await until('c1 replaced on b', () => (b.state.target('c1')?.check as { url?: string }).url === 'http://127.0.0.1:2/')
      expect(await b.state.removeTarget('c1')).toBe(true)
      await until('c1 gone on a', () => a.state.target('c1') === undefined)
      expect(await b.state.removeTarget('c1')).toBe(false)
    })

    run('file contributions apply as diffs: an API removal sticks until the file entry changes', async ({ a, b }) => {
      a.state.setFileTargets('a', [t('f1'), t('f2')])
      await until('f1, f2 on b', () => b.state.target('f1') !== undefined && b.state.target('f2') !== undefined)
      await b.state.removeTarget('f1')
      a.state.setFileTargets('a', [t('f1'), t('f2')])
      await Bun.sleep(500)
      expect(b.state.target('f1')).toBeUndefined()
      a.state.setFileTargets('a', [t('f1', 'http://127.0.0.1:3/'), t('f2')])
      await until('f1 back on b', () => b.state.target('f1') !== undefined)
      a.state.setFileTargets('a', [t('f1', 'http://127.0.0.1:3/')])
      await until('f2 gone on b', () => b.state.target('f2') === undefined)
    })

    run('health: a write shows on the other store; a stale term loses to a newer one', async ({ a, b }) => {
      await a.state.putTarget(t('h1'))
      await until('h1 on b', () => b.state.target('h1') !== undefined)
      b.state.observe(rec('h1', 'b', 2, 'unhealthy'))
      await until('b\'s record on a', () => a.state.health('h1')?.term === 2)
      // a writes from an older term (it owned h1 before b took it over): fenced out everywhere.
      a.state.observe(rec('h1', 'a', 1, 'healthy'))
      await Bun.sleep(800)
      expect(a.state.health('h1')).toMatchObject({ owner: 'b', term: 2, status: 'unhealthy' })
      expect(b.state.health('h1')).toMatchObject({ owner: 'b', term: 2, status: 'unhealthy' })
      // A removed target takes its health with it.
      await a.state.removeTarget('h1')
      await until('h1 health gone on b', () => b.state.health('h1') === undefined && b.state.target('h1') === undefined)
    })

    run('records (silences): written through one store, seen and deleted on the other', async ({ a, b }) => {
      await a.state.putRecord('silence', 's1', { id: 's1', why: 'x' })
      await until('s1 on b', () => (b.state.records('silence').get('s1') as { why?: string } | undefined)?.why === 'x')
      expect(b.state.targets().some((t) => t.id.includes('s1'))).toBe(false)
      await b.state.putRecord('silence', 's1', null)
      await until('s1 gone on a', () => !a.state.records('silence').has('s1'))
    })

    run('membership: each store lists both, alive', async ({ a, b }) => {
      for (const s of [a, b]) {
        await until('both alive', () => s.cluster.members().filter((m) => m.state === 'alive').length === 2)
      }
    })

    run('a writer that lost its right to write cannot change the record (store fencing)', async (pair) => {
      if (!pair.lapse) return console.warn(`store contract (${kind}): fencing here is by ownership term (tested above)`)
      const { a, b } = pair
      await a.state.putTarget(t('z1'))
      await until('z1 on b', () => b.state.target('z1') !== undefined)
      a.state.observe(rec('z1', 'a', 3, 'healthy'))
      await until('a\'s record on b', () => b.state.health('z1')?.owner === 'a')
      await pair.lapse()
      a.state.observe(rec('z1', 'a', 3, 'unhealthy'))
      await Bun.sleep(1000)
      expect(b.state.health('z1')?.status).toBe('healthy')
    })

    run('a dropped connection catches up on what happened meanwhile', async (pair) => {
      if (!pair.disconnect) return console.warn(`store contract (${kind}): no connection to drop`)
      const { a, b } = pair
      pair.disconnect()
      await b.state.putTarget(t('w1'))
      await b.state.putTarget(t('w2'))
      await b.state.removeTarget('w1')
      await until('a to catch up', () => a.state.target('w2') !== undefined && a.state.target('w1') === undefined)
      if (pair.resumed) expect(pair.resumed()).toBe(true)
    })
  })
}
