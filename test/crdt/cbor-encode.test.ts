import { expect, test } from 'bun:test'
import { Encoder } from 'cbor-x'
import fc from 'fast-check'
import { cborEncode } from '../../src/crdt/cbor-encode.ts'

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true })

test('the small CBOR encoder round-trips through cbor-x for every value shape it supports', () => {
  const leaf = fc.oneof(
    fc.integer(),
    fc.maxSafeInteger(),
    fc.maxSafeNat(),
    fc.double({ noNaN: true }),
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array(),
  )
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v')), fc.dictionary(fc.string(), tie('v'))),
  })).v
  fc.assert(
    fc.property(value, (v) => {
      const back = cbor.decode(cborEncode(v))
      if (v instanceof Uint8Array) expect(new Uint8Array(back)).toEqual(v)
      else expect(back).toEqual(v)
    }),
    { numRuns: 500 },
  )
})
