/** Bad input is rejected, counted, and leaves state untouched (issue 5, "Bad input"). */
import { describe, expect, test } from 'bun:test'
import { Encoder } from 'cbor-x'
import { CRDT_PROTOCOL_VERSION, Tag, encodeDelta } from '../../src/crdt/codec.ts'
import type { Delta } from '../../src/crdt/dot-store.ts'
import { SimClock } from '../sim/sim-clock.ts'
import { counterOf, hex, mkReplica } from './helpers.ts'

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true })
const env = (body: unknown, ver = CRDT_PROTOCOL_VERSION, tag: number = Tag.Delta) => cbor.encode([ver, tag, body])

function setup() {
  const clock = new SimClock()
  const captured: Delta[] = []
  const peer = mkReplica('p', clock, undefined, captured)
  peer.rs.putTarget('api', 't1', { url: 'x' })
  peer.rs.observe('t1', { status: 'up', since: 0, last: 0, term: 1, owner: 'p' })
  const me = mkReplica('me', clock, { maxMessageBytes: 4096 })
  for (const d of captured) me.rs.delegate().notifyMsg('p', encodeDelta(d))
  return { clock, me, peer, good: captured }
}

const t = () => [1_700_000_000_000, 0]
const cases: Array<[string, unknown, number?, number?]> = [
  ['unknown protocol version', ['p#1', 3, 3, [['p#1', 3, []]], []], 99],
  ['unknown tag', ['p#1', 3, 3, [['p#1', 3, []]], []], CRDT_PROTOCOL_VERSION, 77],
  ['entry dot missing from the context', ['p#1', 3, 3, [['p#1', 3, []]], [['k/x', [['p#1', 4, 1]]]]]],
  ['entry from a replica other than the origin', ['p#1', 3, 3, [['p#1', 3, []], ['q#1', 1, []]], [['k/x', [['q#1', 1, 1]]]]]],
  ['origin range missing from the context', ['p#1', 3, 4, [['p#1', 3, []]], []]],
  ['context past the range', ['p#1', 3, 3, [['p#1', 9, []]], []]],
  ['registry entry of the wrong shape', ['p#1', 3, 3, [['p#1', 3, []]], [['r/x', [['p#1', 3, { c: 5 }]]]]]],
  ['health entry with a bad term', ['p#1', 3, 3, [['p#1', 3, []]], [['h/x', [['p#1', 3, { o: 1, term: -1, t: t(), w: 'p' }]]]]]],
  ['unknown key prefix', ['p#1', 3, 3, [['p#1', 3, []]], [['zz', [['p#1', 3, 1]]]]]],
  ['negative counter', ['p#1', -1, 3, [['p#1', 3, []]], []]],
  ['malformed envelope body', 'hello'],
  ['dots of our own id we never minted', ['me#1', 1, 1, [['me#1', 1, []]], [['k/x', [['me#1', 1, 1]]]]]],
  ['a counter far beyond what we have (from the future)', ['p#1', 50_000, 50_000, [['p#1', 0, [50_000, 50_000]]], []]],
  ['an HLC stamp far in the future', ['p#1', 3, 3, [['p#1', 3, []]], [['r/x', [['p#1', 3, { c: 'api', d: 1, t: [1_800_000_000_000, 0] }]]]]]],
]

describe('bad deltas', () => {
  for (const [name, body, ver, tag] of cases) {
    test(`${name}: rejected, counted, state unchanged`, () => {
      const { me } = setup()
      const before = hex(me.rs.state)
      const rejected = counterOf(me.metrics, 'rejected')
      me.rs.delegate().notifyMsg('p', env(body, ver, tag))
      expect(counterOf(me.metrics, 'rejected')).toBe(rejected + 1)
      expect(hex(me.rs.state)).toBe(before)
      expect(me.rs.lastRejection).not.toBe('')
    })
  }

  test('oversized and non-CBOR payloads are rejected before decoding', () => {
    const { me } = setup()
    const before = hex(me.rs.state)
    me.rs.delegate().notifyMsg('p', new Uint8Array(5000))
    me.rs.delegate().notifyMsg('p', new Uint8Array([0xff, 0x00]))
    expect(counterOf(me.metrics, 'rejected')).toBe(2)
    expect(me.rs.lastRejection).toStartWith('not CBOR')
    expect(hex(me.rs.state)).toBe(before)
  })

  test('a full state with bad parts is rejected whole; push/pull state stays intact', () => {
    const { me } = setup()
    const before = hex(me.rs.state)
    const full = cbor.encode([CRDT_PROTOCOL_VERSION, Tag.Full, [[['x#1', 1, []]], [['r/x', [['x#1', 2, { c: 'a', d: 1, t: t() }]]]]]])
    me.rs.delegate().mergeRemoteState('x', full, false)
    expect(counterOf(me.metrics, 'rejected')).toBe(1)
    expect(hex(me.rs.state)).toBe(before)
  })

  test('the good deltas were applied, and a held delta whose gap never fills stays bounded', () => {
    const { me, peer, good } = setup()
    expect(counterOf(me.metrics, 'applied')).toBe(good.length)
    expect(hex(me.rs.state)).toBe(hex(peer.rs.state))
    const small = mkReplica('s', new SimClock(), { maxHeldDeltas: 3 })
    for (let i = 0; i < 20; i++) peer.rs.kvPut('k', i)
    const ds: Delta[] = []
    // Everything but the first write of one key: each waits for the one before, which never comes.
    const src = mkReplica('q', new SimClock(), { localBatchMs: 0 }, ds)
    for (let i = 0; i < 10; i++) src.rs.kvPut('k', i)
    for (const d of ds.slice(1)) small.rs.ae.receiveDelta(d)
    expect(small.rs.ae.held.size).toBe(3)
    expect(small.rs.ae.wantSync).toBe(true)
    expect(counterOf(small.metrics, 'held')).toBe(9)
  })
})
