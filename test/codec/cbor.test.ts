import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { readCbor } from '../../src/codec/cbor-read.ts'
import { encodeCbor } from '../../src/codec/cbor-write.ts'

// The wire codec: cbor-x encodes (src/codec/cbor-write.ts), the strict reader decodes.
const cborDecode = (b: Uint8Array) => readCbor(b)

const leaf = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true }),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.uint8Array(),
)
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v')), fc.dictionary(fc.string().filter((k) => k !== '__proto__'), tie('v'))),
})).v

const norm = (x: unknown): unknown =>
  typeof x === 'number' && Object.is(x, -0) ? 0 :
  x instanceof Uint8Array ? [...x] : Array.isArray(x) ? x.map(norm) : x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)])) : x

test('everything cbor-x encodes for us round-trips through the strict reader', () => {
  fc.assert(
    fc.property(value, (v) => {
      const r = cborDecode(encodeCbor(v))
      expect(r.ok).toBe(true)
      if (r.ok) expect(norm(r.value)).toEqual(norm(v))
    }),
    { numRuns: 1000 },
  )
})

test('truncated, lying, deep or trailing input is an error, never a throw', () => {
  const ok = encodeCbor([1, 'abc', { a: [1, 2] }])
  for (let i = 0; i < ok.length; i++) expect(cborDecode(ok.subarray(0, i)).ok).toBe(false)
  expect(cborDecode(new Uint8Array([0x9b, 0, 0, 0, 1, 0, 0, 0, 0])).ok).toBe(false) // array of 2^32 elements
  expect(cborDecode(new Uint8Array(100).fill(0x81)).ok).toBe(false) // 100 nested arrays
  expect(cborDecode(new Uint8Array([0x01, 0x02])).ok).toBe(false)
  expect(cborDecode(new Uint8Array([0xc1, 0x01])).ok).toBe(false) // a tag
  expect(cborDecode(new Uint8Array([0x62, 0xff, 0xfe])).ok).toBe(false) // bad UTF-8
})
