/**
 * The two hashes ownership is built from:
 *  - a target id → 64-bit xxHash64 → jump hash → one of a fixed number of slots;
 *  - (slot, member) → a 32-bit rendezvous weight (Thaler & Ravishankar's highest
 *    random weight). A slot's owners are its members sorted by weight, highest first.
 * Member names are hashed once (xxHash64) and the per-slot weight is then two rounds
 * of MurmurHash3's 32-bit finaliser, so a full slot ranking costs a few ns per member.
 * Every value here is a pure function of its inputs: all nodes, in any process,
 * on any platform, compute the same slots and weights. Changing any constant here
 * changes every owner list, so it is a protocol change (test/ownership/golden.test.ts).
 */
import { xxhash64 } from '../seams/hash.ts'
import { jumpHash } from './jump-hash.ts'

// Little-endian reads of the 64-bit hash, independent of the platform's byte order.
const view = new DataView(new ArrayBuffer(8))

/** The slot of a target id among `slots` fixed slots: jump hash of its xxHash64. */
export function slotOfId(id: string, slots: number): number {
  view.setBigUint64(0, xxhash64(id), true)
  return jumpHash(view.getUint32(0, true), view.getUint32(4, true), slots)
}

/** A member name's 64-bit hash as [lo, hi] halves, computed once per member. */
export function memberKey(name: string): [number, number] {
  view.setBigUint64(0, xxhash64(name), true)
  return [view.getUint32(0, true), view.getUint32(4, true)]
}

/** MurmurHash3 fmix32: a bijection on 32-bit values with full avalanche. */
export function fmix32(x: number): number {
  let h = x
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Per-slot salt; the golden-ratio multiply spreads consecutive slot numbers apart. */
export function slotSalt(slot: number): number {
  return fmix32(Math.imul(slot, 0x9e3779b1) ^ 0x5bd1e995)
}

/** Rendezvous weight of a member (key halves lo, hi) for a slot (salt from slotSalt). */
export function weight(salt: number, lo: number, hi: number): number {
  return fmix32((fmix32(salt ^ lo) + hi) | 0)
}

/**
 * weight() XOR 2^31 as a signed int32: orders exactly like weight() does as unsigned,
 * but stays a small integer in the engine, which makes the table's hot loops several
 * times faster than comparing unsigned values held as doubles.
 */
export function biasedWeight(salt: number, lo: number, hi: number): number {
  let h = salt ^ lo
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  h = (h + hi) | 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h ^ -0x80000000
}
