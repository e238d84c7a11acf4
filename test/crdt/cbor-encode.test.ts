import { expect, test } from 'bun:test'
import { Encoder } from 'cbor-x'
import fc from 'fast-check'
import { cborDecode } from '../../src/crdt/cbor-decode.ts'
import { cborEncode } from '../../src/crdt/cbor-encode.ts'

// cbor-x is used here only to encode (pure JS); its decoder may load a native addon that misbehaves under Bun.
const cborx = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false })

const leaf = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true }),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array(),
)
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v')), fc.dictionary(fc.string().filter((k) => k !== '__proto__'), tie('v'))),
})).v

const norm = (x: unknown): unknown =>
  typeof x === 'number' && Object.is(x, -0) ? 0 :
  x instanceof Uint8Array ? [...x] : Array.isArray(x) ? x.map(norm) : x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)])) : x

test('our CBOR encoder and decoder round-trip every supported value', () => {
  fc.assert(
    fc.property(value, (v) => {
      const r = cborDecode(cborEncode(v))
      expect(r.ok).toBe(true)
      if (r.ok) expect(norm(r.value)).toEqual(norm(v))
    }),
    { numRuns: 500 },
  )
})

test('our decoder reads what cbor-x encodes (integers, floats, strings, arrays, maps)', () => {
  fc.assert(
    fc.property(value, (v) => {
      const r = cborDecode(cborx.encode(v))
      expect(r.ok).toBe(true)
      if (r.ok) expect(norm(r.value)).toEqual(norm(v))
    }),
    { numRuns: 500 },
  )
})

test('truncated, lying, deep or trailing input is an error, never a throw', () => {
  const ok = cborEncode([1, 'abc', { a: [1, 2] }])
  for (let i = 0; i < ok.length; i++) expect(cborDecode(ok.subarray(0, i)).ok).toBe(false)
  expect(cborDecode(new Uint8Array([0x9b, 0, 0, 0, 1, 0, 0, 0, 0])).ok).toBe(false) // array of 2^32 elements
  expect(cborDecode(new Uint8Array(100).fill(0x81)).ok).toBe(false) // 100 nested arrays
  expect(cborDecode(new Uint8Array([0x01, 0x02])).ok).toBe(false)
  expect(cborDecode(new Uint8Array([0xc1, 0x01])).ok).toBe(false) // a tag
  expect(cborDecode(new Uint8Array([0x62, 0xff, 0xfe])).ok).toBe(false) // bad UTF-8
})
