/**
 * CBOR encoding for everything heck puts on the wire or on disk, with cbor-x:
 * plain maps (no records, no structure sharing) and byte strings for
 * Uint8Array, so the strict reader in cbor-read.ts accepts all of it.
 */
import { Encoder } from 'cbor-x'

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0])

export function encodeCbor(value: unknown): Uint8Array {
  return encoder.encode(value)
}
