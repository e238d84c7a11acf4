/**
 * The anti-replay window (RFC 4303 §3.4.3, RFC 6479) and the sealed envelope that
 * carries its numbers: in order, out of order within the window, duplicates, too
 * old, a new boot id starting fresh, the LRU bound on boots, and a random model
 * check against a plain set; then the codec: a sealed envelope is decoded once,
 * the boot id and number are authenticated, the retired kind is refused.
 */
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { Keyring, SEALED_KIND, SEALED_KIND_V1, SEAL_OVERHEAD_BYTES, generateKey } from '../../src/codec/keyring.ts'
import { ReplayGuard, ReplayWindow } from '../../src/codec/replay-window.ts'
import { SwimCodec } from '../../src/codec/swim-envelope.ts'
import { MsgTag } from '../../src/codec/swim-messages.ts'

/** Checks then accepts, as the codec does: the verdict for each number in turn. */
const feed = (w: ReplayWindow, ns: number[]) =>
  ns.map((n) => {
    const v = w.check(n)
    if (v === 'new') w.accept(n)
    return v
  })

describe('replay window', () => {
  test('in order: each number once', () => {
    const w = new ReplayWindow(64)
    expect(feed(w, [0, 1, 2, 3])).toEqual(['new', 'new', 'new', 'new'])
    expect(feed(w, [3, 2, 0])).toEqual(['duplicate', 'duplicate', 'duplicate'])
  })

  test('out of order within the window is accepted once; gaps stay open', () => {
    const w = new ReplayWindow(64)
    expect(feed(w, [10, 5, 7, 6, 9, 8])).toEqual(['new', 'new', 'new', 'new', 'new', 'new'])
    expect(feed(w, [5, 10, 8])).toEqual(['duplicate', 'duplicate', 'duplicate'])
    // 0..4 were never seen and are still inside the window (10 - 64 < 0).
    expect(feed(w, [4, 0, 4])).toEqual(['new', 'new', 'duplicate'])
  })

  test('older than the window is refused, even if never seen', () => {
    const w = new ReplayWindow(64)
    feed(w, [100])
    expect(w.check(37)).toBe('new') // 100 - 63: the oldest number the window still holds
    expect(w.check(36)).toBe('too-old')
    expect(w.check(0)).toBe('too-old')
    // A jump far ahead forgets everything below the new window.
    feed(w, [37, 1_000_000])
    expect(w.check(100)).toBe('too-old')
    expect(w.check(999_937)).toBe('new')
    expect(w.check(1_000_000)).toBe('duplicate')
  })

  test('bits of numbers a whole ring ago do not haunt the window', () => {
    const w = new ReplayWindow(64)
    feed(w, [0, 1, 2, 3])
    // 96 and 97 share ring slots with 0..3 (three 32-bit words apart); the slide clears them.
    expect(feed(w, [96, 97, 98])).toEqual(['new', 'new', 'new'])
    expect(feed(w, [64, 65])).toEqual(['new', 'new'])
  })

  test('the last 32-bit numbers work (bit 31, top of the range)', () => {
    const w = new ReplayWindow(64)
    expect(feed(w, [31, 63, 0xffff_ffff, 0xffff_fffe, 0xffff_ffff])).toEqual(['new', 'new', 'new', 'new', 'duplicate'])
  })

  test('matches a plain set over random arrivals (reordering, duplicates, jumps)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 5000 })), { maxLength: 400 }), (ns) => {
        const w = new ReplayWindow(128)
        const seen = new Set<number>()
        let top = -1
        for (const n of ns) {
          const expected = seen.has(n) ? 'duplicate' : n <= top - 128 ? 'too-old' : 'new'
          const got = w.check(n)
          // A number below the window may also have been seen: either verdict refuses it.
          if (expected === 'duplicate' && got === 'too-old') continue
          expect(got).toBe(expected)
          if (got === 'new') {
            w.accept(n)
            seen.add(n)
            top = Math.max(top, n)
          }
        }
      }),
      { numRuns: 500 },
    )
  })

  test('window sizes: powers of two from 64', () => {
    expect(() => new ReplayWindow(100)).toThrow(/power of two/)
    expect(() => new ReplayWindow(32)).toThrow(/power of two/)
    expect(new ReplayWindow(4096).size).toBe(4096)
  })
})

describe('replay guard (per sender boot)', () => {
  test('a new boot id starts fresh; the old boot keeps its window', () => {
    const g = new ReplayGuard(64, 8)
    g.accept('boot-1', 500)
    expect(g.check('boot-1', 500)).toBe('duplicate')
    expect(g.check('boot-1', 10)).toBe('too-old')
    // The same node restarted: new boot, numbers from 0 again.
    expect(g.check('boot-2', 0)).toBe('new')
    g.accept('boot-2', 0)
    expect(g.check('boot-2', 0)).toBe('duplicate')
    expect(g.check('boot-1', 500)).toBe('duplicate')
  })

  test('boots tracked are bounded: the least recently heard is forgotten', () => {
    const g = new ReplayGuard(64, 3)
    for (const b of ['a', 'b', 'c']) g.accept(b, 1)
    g.accept('a', 2) // a is now the most recent
    g.accept('d', 1) // evicts b
    expect(g.trackedBoots).toBe(3)
    expect(g.check('b', 1)).toBe('new')
    expect(g.check('a', 1)).toBe('duplicate')
    expect(g.check('c', 1)).toBe('duplicate')
    for (let i = 0; i < 10_000; i++) g.accept(`stranger-${i}`, 0)
    expect(g.trackedBoots).toBe(3)
  })
})

describe('sealed envelopes carry boot id and number', () => {
  const key = generateKey()
  const ping = { t: MsgTag.Ping, seq: 1, target: 'b', from: 'a', addr: '127.0.0.1:1' } as const

  test('a sealed datagram or frame is accepted once; its replay is dropped as `replay`', () => {
    const a = new SwimCodec(Keyring.fromBase64([key]))
    const b = new SwimCodec(Keyring.fromBase64([key]))
    const p1 = a.pack([a.encodeMsg(ping)])
    const p2 = a.pack([a.encodeMsg(ping)])
    const reason = (d: Uint8Array, stream = false) => {
      const r = b.decode(d, stream)
      return r.ok ? 'ok' : r.reason
    }
    expect(reason(p2)).toBe('ok')
    expect(reason(p1)).toBe('ok') // reordered, within the window
    expect(reason(p1)).toBe('replay')
    expect(reason(p2, true)).toBe('replay') // a datagram replayed as a stream frame
    expect(p1.length - a.pack([a.encodeMsg(ping)]).length).toBe(0)
    // The sender's own numbers say nothing about another receiver's window.
    const c = new SwimCodec(Keyring.fromBase64([key]))
    expect(c.decode(p1).ok).toBe(true)
  })

  test('boot id and number are authenticated: changing either fails the tag', () => {
    const a = new Keyring([new Uint8Array(32).fill(7)], { bootId: new Uint8Array(8).fill(1) })
    const b = new Keyring([new Uint8Array(32).fill(7)])
    const sealed = a.seal(new TextEncoder().encode('hello'))
    expect(sealed.length).toBe(5 + SEAL_OVERHEAD_BYTES)
    expect(sealed[0]).toBe(SEALED_KIND)
    expect(b.openEnvelope(sealed)).toMatchObject({ number: 0 })
    for (const at of [1, 8, 9, 12]) {
      const t = sealed.slice()
      t[at] = (t[at] as number) ^ 1
      expect(b.openEnvelope(t)).toBeUndefined()
    }
    expect(b.openEnvelope(a.seal(new Uint8Array(1)))).toMatchObject({ number: 1 })
  })

  test('numbers never repeat under a key: at the last one the boot id rolls', () => {
    const a = new Keyring([new Uint8Array(32).fill(7)], { firstNumber: 0xffff_fffe })
    const b = new Keyring([new Uint8Array(32).fill(7)])
    const first = b.openEnvelope(a.seal(new Uint8Array(1)))
    const last = b.openEnvelope(a.seal(new Uint8Array(1)))
    const rolled = b.openEnvelope(a.seal(new Uint8Array(1)))
    expect([first?.number, last?.number, rolled?.number]).toEqual([0xffff_fffe, 0xffff_ffff, 0])
    expect(rolled?.boot).not.toBe(first?.boot)
    expect(last?.boot).toBe(first?.boot)
  })

  test('the retired random-nonce kind is refused as `version`, even with the right key', () => {
    const b = new SwimCodec(Keyring.fromBase64([key]))
    const old = new Uint8Array(60)
    old[0] = SEALED_KIND_V1
    const r = b.decode(old)
    expect(r.ok ? 'ok' : r.reason).toBe('version')
    // At a node without keys any sealed kind is `auth`: the sender has a key it lacks.
    const plain = new SwimCodec()
    const s = new SwimCodec(Keyring.fromBase64([key])).pack([plain.encodeMsg(ping)])
    const r2 = plain.decode(s)
    expect(r2.ok ? 'ok' : r2.reason).toBe('auth')
  })
})
