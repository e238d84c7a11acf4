/** A target's whole story from any node (src/node/story.ts): merging members' parts, and partial answers. */
import { describe, expect, test } from 'bun:test'
import { mergeStory, tellStory, asHistoryPart, type HistoryPart } from '../../src/node/story.ts'
import type { MemberView, TargetDetail } from '../../src/node/types.ts'
import { parseTargetsText } from '../../src/config/targets-file.ts'

const def = parseTargetsText('targets: [{id: api, tcp: "h:1"}]', 't.yaml').targets[0]!
const local: TargetDetail = { id: 'api', status: 'unhealthy', since: 5000, owner: 'b', last: null, definition: def, owners: ['b', 'a', 'c'], recent: [], transitions: [] }
const r = (at: number, ok: boolean, checker: string) => ({ ok, latency_ms: 1, checked_at: at, checker })
const counts = (c: number, f: number) => ({ h1: { checks: c, failures: f }, h24: { checks: c, failures: f }, d7: { checks: c, failures: f } })
const member = (name: string, state: MemberView['state'] = 'alive'): MemberView => ({ name, addr: `${name}:7946`, state, incarnation: 0, owned: 0, meta: { http: `${name}:8080` } })

describe('a target\'s story', () => {
  test('the checker\'s recent results, every checker\'s transitions once, uptime from the summed counts', () => {
    const a: HistoryPart = { node: 'a', recent: [r(1000, true, 'a')], transitions: [{ at: 1000, from: 'unknown', to: 'healthy' }], counts: counts(60, 0) }
    const b: HistoryPart = {
      node: 'b',
      recent: [r(5000, false, 'b')],
      transitions: [
        { at: 5000, from: 'healthy', to: 'unhealthy' },
        { at: 1200, from: 'unknown', to: 'healthy' }, // the same change, seen by both during a hand-over
      ],
      counts: counts(40, 20),
    }
    const s = mergeStory(local, [a, b], 'b')
    expect(s.recent).toEqual(b.recent)
    expect(s.transitions).toEqual([{ at: 5000, from: 'healthy', to: 'unhealthy' }, { at: 1200, from: 'unknown', to: 'healthy' }])
    expect(s.uptime).toEqual({ h1: 0.8, h24: 0.8, d7: 0.8 })
  })

  test('a member that does not answer makes the answer partial, saying who and why; nobody waits for the dead', async () => {
    const own: HistoryPart = { node: 'a', recent: [r(900, true, 'a')], transitions: [], counts: counts(10, 0) }
    const asked: string[] = []
    const s = await tellStory({ ...local }, own, [member('a'), member('b'), member('c'), member('d', 'dead')], 'a', async (m) => {
      asked.push(m.name)
      if (m.name === 'b') throw new Error('no answer within 800 ms')
      return { node: m.name, recent: [], transitions: [], counts: counts(10, 5) }
    })
    expect(asked.sort()).toEqual(['b', 'c'])
    expect(s.partial).toBe(true)
    expect(s.partial_reasons).toEqual(['b: no answer within 800 ms', 'the checker b did not answer: recent results are this node\'s own'].sort())
    expect(s.recent).toEqual([]) // the local detail's own ring (empty here), not another node's
    expect(s.uptime?.h1).toBe(15 / 20)
    const whole = await tellStory({ ...local }, own, [member('a'), member('b')], 'a', async (m) => ({ node: m.name, recent: [r(5000, false, 'b')], transitions: [] }))
    expect(whole.partial).toBeUndefined()
    expect(whole.recent).toEqual([r(5000, false, 'b')])
  })

  test('a malformed part from a peer is refused, naming the peer', () => {
    expect(() => asHistoryPart({ node: 'x' }, 'x')).toThrow(/x sent no history part/)
    expect(() => asHistoryPart({ node: 'x', recent: [], transitions: [], counts: { h1: 1 } }, 'x')).toThrow(/malformed counts/)
  })
})
