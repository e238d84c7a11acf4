import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { Encoder } from 'cbor-x'
import { SwimCodec, SWIM_PROTOCOL_VERSION } from '../../src/codec/swim-envelope.ts'
import { Keyring, generateKey, parseKey, SEAL_OVERHEAD_BYTES } from '../../src/codec/keyring.ts'
import { MsgTag, type Msg } from '../../src/codec/swim-messages.ts'

const samples: Msg[] = [
  { t: MsgTag.Ping, seq: 7, target: 'b', from: 'a', addr: '127.0.0.1:1' },
  { t: MsgTag.PingReq, seq: 8, target: 'c', targetAddr: '127.0.0.1:3', from: 'a', addr: '127.0.0.1:1', nack: true },
  { t: MsgTag.Ack, seq: 9 },
  { t: MsgTag.Nack, seq: 10 },
  { t: MsgTag.Suspect, inc: 3, node: 'c', from: 'a' },
  { t: MsgTag.Alive, inc: 4, node: 'c', addr: '127.0.0.1:3', meta: { http: '127.0.0.1:8080', version: '0.1.0' } },
  { t: MsgTag.Dead, inc: 5, node: 'c', from: 'b' },
  { t: MsgTag.Leave, inc: 6, node: 'c' },
  { t: MsgTag.User, payload: new Uint8Array([1, 2, 3]) },
  { t: MsgTag.PushPull, join: true, from: 'a', states: [{ node: 'a', addr: 'x:1', inc: 1, state: 2, meta: {} }], user: new Uint8Array([9]) },
  { t: MsgTag.UserRequest, from: 'a', payload: new Uint8Array([4]) },
  { t: MsgTag.UserResponse, payload: new Uint8Array([5]) },
  { t: MsgTag.StreamError, reason: 'no handler' },
]

const norm = (x: unknown): unknown =>
  x instanceof Uint8Array ? Array.from(x) : Array.isArray(x) ? x.map(norm) : x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)])) : x
const raw = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0])

describe('SWIM envelopes', () => {
  for (const keyed of [false, true]) {
    test(`every message round-trips in one compound packet${keyed ? ' (encrypted)' : ''}`, () => {
      const c = new SwimCodec(keyed ? Keyring.fromBase64([generateKey()]) : undefined)
      const r = c.decode(c.pack(samples.map((m) => c.encodeMsg(m))))
      expect(r.ok).toBe(true)
      if (r.ok) {
        expect(r.value.bad).toEqual([])
        expect(norm(r.value.msgs)).toEqual(norm(samples))
      }
    })
  }

  test('packAll keeps every packet within the limit', () => {
    const c = new SwimCodec(Keyring.fromBase64([generateKey()]))
    const msgs = Array.from({ length: 200 }, (_, i) => c.encodeMsg({ t: MsgTag.Alive, inc: i, node: `node-${i}`, addr: `10.0.0.${i % 250}:7946`, meta: { http: 'x' } }))
    const pkts = c.packAll(msgs, 1400)
    expect(pkts.length).toBeGreaterThan(1)
    let count = 0
    for (const p of pkts) {
      expect(p.length).toBeLessThanOrEqual(1400)
      const r = c.decode(p)
      if (r.ok) count += r.value.msgs.length
    }
    expect(count).toBe(200)
  })

  test('drop reasons: truncated, malformed, oversized, version, unknown tag, limit, auth', () => {
    const c = new SwimCodec(undefined, { maxPacketBytes: 2000 })
    const good = c.pack([c.encodeMsg(samples[0] as Msg)])
    const reason = (d: Uint8Array, codec = c) => {
      const r = codec.decode(d)
      return r.ok ? (r.value.bad[0] ?? 'ok') : r.reason
    }
    expect(reason(good)).toBe('ok')
    expect(reason(good.subarray(0, good.length - 3))).toBe('truncated')
    expect(reason(new Uint8Array(0))).toBe('truncated')
    expect(reason(raw.encode('hello'))).toBe('malformed')
    expect(reason(new Uint8Array(3000))).toBe('oversized')
    expect(reason(raw.encode([SWIM_PROTOCOL_VERSION + 1, []]))).toBe('version')
    expect(reason(raw.encode([SWIM_PROTOCOL_VERSION, [raw.encode([99, 1])]]))).toBe('unknown-tag')
    expect(reason(raw.encode([SWIM_PROTOCOL_VERSION, [raw.encode([MsgTag.Ack, -1])]]))).toBe('malformed')
    expect(reason(raw.encode([SWIM_PROTOCOL_VERSION, [raw.encode([MsgTag.Leave, 1, 'x'.repeat(500)])]]))).toBe('limit')
    expect(reason(raw.encode([SWIM_PROTOCOL_VERSION, Array(300).fill(new Uint8Array(1))]))).toBe('limit')
    const bigMeta = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v']))
    expect(reason(raw.encode([SWIM_PROTOCOL_VERSION, [raw.encode([MsgTag.Alive, 1, 'n', 'a:1', bigMeta])]]))).toBe('limit')
    // Sealed packet at a node without keys, and a plain packet at a node with keys.
    const keyed = new SwimCodec(Keyring.fromBase64([generateKey()]))
    expect(reason(keyed.pack([c.encodeMsg(samples[2] as Msg)]))).toBe('auth')
    expect(reason(good, keyed)).toBe('auth')
  })

  test('decode never throws on arbitrary bytes', () => {
    const c = new SwimCodec()
    const k = new SwimCodec(Keyring.fromBase64([generateKey()]))
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(c.decode(bytes).ok !== undefined).toBe(true)
        expect(k.decode(bytes).ok).toBe(false)
      }),
      { numRuns: 2000 },
    )
  })

  test('decode never throws on mutated valid packets', () => {
    const c = new SwimCodec()
    const good = c.pack(samples.map((m) => c.encodeMsg(m)))
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), (i, b) => {
        const bad = good.slice()
        bad[i] = b
        const r = c.decode(bad)
        expect(typeof r.ok).toBe('boolean')
      }),
      { numRuns: 2000 },
    )
  })
})

describe('keyring', () => {
  test('generateKey gives 32 random bytes in base64', () => {
    const a = generateKey()
    expect(parseKey(a).length).toBe(32)
    expect(generateKey()).not.toBe(a)
    expect(() => parseKey('c2hvcnQ=')).toThrow(/32 bytes/)
  })

  test('rotation: primary encrypts, every ring key decrypts, tampering fails', () => {
    const [k1, k2] = [generateKey(), generateKey()]
    const oldNode = Keyring.fromBase64([k1])
    const rotating = Keyring.fromBase64([k2, k1])
    const newNode = Keyring.fromBase64([k2])
    const pt = new TextEncoder().encode('hello')
    const sealed = oldNode.seal(pt)
    expect(sealed.length).toBe(pt.length + SEAL_OVERHEAD_BYTES)
    expect(rotating.open(sealed)).toEqual(pt)
    expect(newNode.open(sealed)).toBeUndefined()
    expect(newNode.open(rotating.seal(pt))).toEqual(pt)
    const tampered = sealed.slice()
    tampered[20] = (tampered[20] as number) ^ 1
    expect(rotating.open(tampered)).toBeUndefined()
    // Random nonce: the same plaintext never seals the same way twice.
    expect(oldNode.seal(pt)).not.toEqual(sealed)
  })
})

describe('strict CBOR reader', () => {
  test('refuses tags, indefinite lengths, invalid UTF-8, non-string keys and lying counts', async () => {
    const { readCbor } = await import('../../src/codec/cbor-read.ts')
    const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))
    const reason = (h: string) => {
      const r = readCbor(hex(h))
      return r.ok ? 'ok' : r.reason
    }
    expect(readCbor(hex('83010203'))).toEqual({ ok: true, value: [1, 2, 3] })
    expect(reason('c11a5f000000')).toBe('malformed') // tag 1 (date)
    expect(reason('9f01ff')).toBe('malformed') // indefinite array
    expect(reason('63ef3a33')).toBe('malformed') // invalid UTF-8
    expect(reason('9bffffffffffffffff')).toBe('truncated') // huge count
    expect(reason('8301')).toBe('truncated')
    expect(reason('0101')).toBe('malformed') // trailing bytes
    expect(reason('81'.repeat(30) + '01')).toBe('malformed') // too deep (default bound 24)
    expect(readCbor(hex('81'.repeat(3) + '01'), 2).ok).toBe(false) // a tighter bound on request
    expect(reason('a10102')).toBe('malformed') // integer map key
    const proto = readCbor(hex('a1695f5f70726f746f5f5f6178'))
    expect(proto.ok && Object.getPrototypeOf(proto.value)).toBe(null)
  })
})
