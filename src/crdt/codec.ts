/**
 * CBOR envelopes for replicated state: [protocol version, tag, body].
 * Tags are numeric and append-only. Decoding checks size, version, structure,
 * limits and internal consistency (every entry's dot is in the context; a
 * delta only carries its origin's fresh dots) and returns a result or an error:
 * it never throws into the core, and nothing undecoded passes inward.
 */
import { readCbor } from '../codec/cbor-read.ts'
import { encodeCbor } from '../codec/cbor-write.ts'
import { CausalContext, isCounter, validateEncodedContext, type EncodedContext } from './causal-context.ts'
import type { CausalState, Delta, Entry } from './dot-store.ts'
import { HEALTH_PREFIX, isHealthValue } from './health-map.ts'
import { REGISTRY_PREFIX, isRegistryValue } from './registry-map.ts'

export const CRDT_PROTOCOL_VERSION = 1

/**
 * Keys of the generic key-value test bed (test/crdt/kv-map.ts). Its values are opaque;
 * the wire has always accepted them, and the wire is append-only, so it still does.
 */
export const KV_PREFIX = 'k/'

export const Tag = {
  Delta: 1,
  Digest: 2,
  Full: 3,
  SyncRequest: 4,
  SyncReplyDeltas: 5,
  SyncReplyFull: 6,
  Snapshot: 7,
  /** A SyncRequest about some origins only: [context, fold markers, origin replica ids]. */
  SyncRequestFor: 8,
} as const

export interface CodecLimits {
  maxMessageBytes: number
  maxReplicas: number
  maxExceptionRanges: number
  maxCounter: number
  maxKeysPerMessage: number
  maxEntriesPerKey: number
  maxKeyLength: number
}

export type Decoded =
  | { tag: typeof Tag.Delta; delta: Delta }
  | { tag: typeof Tag.Digest; ctx: CausalContext }
  | { tag: typeof Tag.Full; state: CausalState }
  | { tag: typeof Tag.SyncRequest; ctx: CausalContext }
  | { tag: typeof Tag.SyncRequestFor; ctx: CausalContext; origins: string[] }
  | { tag: typeof Tag.SyncReplyDeltas; deltas: Delta[] }
  | { tag: typeof Tag.SyncReplyFull; state: CausalState }
  | { tag: typeof Tag.Snapshot; replicaId: string; state: CausalState; folded: Array<[string, number, number]> }

export type DecodeResult = { ok: true; msg: Decoded } | { ok: false; error: string }

// Encoded with cbor-x; decoded by the strict wire reader (see src/codec/cbor-read.ts for why).
const cbor = { encode: encodeCbor }

type WireEntries = Array<[string, Array<[string, number, unknown]>]>
type WireDelta = [string, number, number, EncodedContext, WireEntries]

function entriesOut(store: Map<string, Entry[]>): WireEntries {
  return [...store].map(([k, es]) => [k, es.map((e) => [e.r, e.n, e.v] as [string, number, unknown])])
}

const deltaOut = (d: Delta): WireDelta => [d.origin, d.lo, d.hi, d.ctx.encode(), entriesOut(d.store)]

export function encodeDelta(d: Delta): Uint8Array {
  return cbor.encode([CRDT_PROTOCOL_VERSION, Tag.Delta, deltaOut(d)])
}
/** A digest is the causal context plus fold markers, so a peer does not resend what we folded. */
export function encodeDigest(tag: typeof Tag.Digest | typeof Tag.SyncRequest, ctx: CausalContext): Uint8Array {
  return cbor.encode([CRDT_PROTOCOL_VERSION, tag, [ctx.encode(), ctx.foldMarkers()]])
}
/** Full state: [context, entries, fold markers]. The markers let a joiner fold dead replicas the sender already folded. */
/** A sync request that asks only about `origins` (a gap whose origin we ask directly). */
export function encodeSyncRequestFor(ctx: CausalContext, origins: string[]): Uint8Array {
  return cbor.encode([CRDT_PROTOCOL_VERSION, Tag.SyncRequestFor, [ctx.encode(), ctx.foldMarkers(), origins]])
}
export function encodeFull(tag: typeof Tag.Full | typeof Tag.SyncReplyFull, s: CausalState): Uint8Array {
  return cbor.encode([CRDT_PROTOCOL_VERSION, tag, [s.ctx.encode(), entriesOut(s.store), s.ctx.foldMarkers()]])
}
export function encodeSyncDeltas(ds: Delta[]): Uint8Array {
  return cbor.encode([CRDT_PROTOCOL_VERSION, Tag.SyncReplyDeltas, ds.map(deltaOut)])
}
export function encodeSnapshot(replicaId: string, s: CausalState): Uint8Array {
  return cbor.encode([CRDT_PROTOCOL_VERSION, Tag.Snapshot, [replicaId, s.ctx.encode(), entriesOut(s.store), s.ctx.foldMarkers()]])
}
/** Canonical bytes of a state (sorted keys): equal states give equal bytes. Used as a convergence digest. */
export function canonicalState(s: CausalState): Uint8Array {
  const keys = [...s.store.keys()].sort()
  return cbor.encode([s.ctx.encode(), keys.map((k) => [k, (s.store.get(k) ?? []).map((e) => [e.r, e.n, e.v])])])
}

class Invalid extends Error {}
const fail = (m: string): never => {
  throw new Invalid(m)
}

function checkValue(key: string, v: unknown): void {
  if (key.startsWith(REGISTRY_PREFIX)) {
    if (!isRegistryValue(v)) fail('bad registry entry')
  } else if (key.startsWith(HEALTH_PREFIX)) {
    if (!isHealthValue(v)) fail('bad health entry')
  } else if (!key.startsWith(KV_PREFIX)) fail('unknown key prefix')
}

function ctxIn(e: unknown, L: CodecLimits): CausalContext {
  const err = validateEncodedContext(e, L.maxReplicas, L.maxExceptionRanges, L.maxCounter)
  if (err) fail(err)
  return CausalContext.decode(e as EncodedContext)
}

function entriesIn(e: unknown, ctx: CausalContext, L: CodecLimits, only?: Delta): Map<string, Entry[]> {
  if (!Array.isArray(e) || e.length > L.maxKeysPerMessage) fail('bad or too many keys')
  const store = new Map<string, Entry[]>()
  // Dots seen so far, per replica: a full state carries 20,000 entries from a few dozen replicas.
  const dots = new Map<string, Set<number>>()
  for (const row of e as unknown[]) {
    if (!Array.isArray(row) || row.length !== 2) fail('key row malformed')
    const [k, es] = row as [unknown, unknown]
    if (typeof k !== 'string' || k.length > L.maxKeyLength || store.has(k)) fail('bad or duplicate key')
    if (!Array.isArray(es) || es.length > L.maxEntriesPerKey) fail('bad or too many entries')
    const list: Entry[] = []
    for (const x of es as unknown[]) {
      if (!Array.isArray(x) || x.length !== 3) fail('entry malformed')
      const [r, n, v] = x as [unknown, unknown, unknown]
      if (typeof r !== 'string' || !isCounter(n, L.maxCounter)) fail('bad entry dot')
      let seen = dots.get(r as string)
      if (!seen) dots.set(r as string, (seen = new Set()))
      if (seen.has(n as number)) fail('dot used twice')
      seen.add(n as number)
      if (!ctx.has(r as string, n as number)) fail('entry dot missing from context')
      if (only && (r !== only.origin || (n as number) < only.lo || (n as number) > only.hi)) fail('delta entry is not a fresh origin dot')
      checkValue(k as string, v)
      list.push({ r: r as string, n: n as number, v })
    }
    store.set(k as string, list)
  }
  return store
}

function deltaIn(b: unknown, L: CodecLimits): Delta {
  if (!Array.isArray(b) || b.length !== 5) fail('delta malformed')
  const [origin, lo, hi, c, es] = b as unknown[]
  if (typeof origin !== 'string' || origin.length === 0 || origin.length > 256) fail('bad origin')
  if (!isCounter(lo, L.maxCounter) || !isCounter(hi, L.maxCounter) || (hi as number) < (lo as number)) fail('bad range')
  if ((hi as number) - (lo as number) >= L.maxKeysPerMessage) fail('range too long')
  const ctx = ctxIn(c, L)
  for (let n = lo as number; n <= (hi as number); n++) if (!ctx.has(origin as string, n)) fail('origin range missing from context')
  if (ctx.top(origin as string) > (hi as number)) fail('delta context runs past its range')
  const d: Delta = { origin: origin as string, lo: lo as number, hi: hi as number, ctx, store: new Map() }
  d.store = entriesIn(es, ctx, L, d)
  return d
}

type Marker = [string, number, number]
function foldedIn(f: unknown, L: CodecLimits): Marker[] {
  if (!Array.isArray(f) || f.length > L.maxReplicas) fail('bad fold markers')
  for (const x of f as unknown[])
    if (!Array.isArray(x) || x.length !== 3 || typeof x[0] !== 'string' || !isCounter(x[1], L.maxCounter) || !Number.isSafeInteger(x[2]))
      fail('bad fold marker')
  return f as Marker[]
}

function fullIn(b: unknown, L: CodecLimits): CausalState {
  if (!Array.isArray(b) || (b.length !== 2 && b.length !== 3)) fail('state malformed')
  const body = b as unknown[]
  const ctx = ctxIn(body[0], L)
  // A marker for a replica the context also lists is inconsistent: markers replace entries.
  for (const [r, m, at] of body.length === 3 ? foldedIn(body[2], L) : []) {
    if (ctx.top(r) > 0) fail('fold marker for a replica still in the context')
    ctx.fold(r, m, at)
  }
  return { ctx, store: entriesIn((b as unknown[])[1], ctx, L) }
}

export function decodeMessage(buf: Uint8Array, L: CodecLimits): DecodeResult {
  if (buf.byteLength > L.maxMessageBytes) return { ok: false, error: 'oversized' }
  const dec = readCbor(buf)
  if (!dec.ok) return { ok: false, error: `not CBOR (${dec.reason})` }
  const raw = dec.value
  if (!Array.isArray(raw) || raw.length !== 3) return { ok: false, error: 'not an envelope' }
  const [ver, tag, body] = raw as unknown[]
  if (ver !== CRDT_PROTOCOL_VERSION) return { ok: false, error: `unknown protocol version ${String(ver)}` }
  try {
    switch (tag) {
      case Tag.Delta:
        return { ok: true, msg: { tag, delta: deltaIn(body, L) } }
      case Tag.Digest:
      case Tag.SyncRequest:
      case Tag.SyncRequestFor: {
        const n = tag === Tag.SyncRequestFor ? 3 : 2
        if (!Array.isArray(body) || body.length !== n) fail('digest malformed')
        const [c, f, o] = body as unknown[]
        const ctx = ctxIn(c, L)
        for (const [r, m, at] of foldedIn(f, L)) {
          if (ctx.top(r) > 0) fail('fold marker for a replica still in the context')
          ctx.fold(r, m, at)
        }
        if (tag !== Tag.SyncRequestFor) return { ok: true, msg: { tag, ctx } }
        if (!Array.isArray(o) || o.length === 0 || o.length > L.maxReplicas) fail('bad origin list')
        for (const x of o as unknown[]) if (typeof x !== 'string' || x.length === 0 || x.length > 256) fail('bad origin')
        return { ok: true, msg: { tag, ctx, origins: o as string[] } }
      }
      case Tag.Full:
      case Tag.SyncReplyFull:
        return { ok: true, msg: { tag, state: fullIn(body, L) } }
      case Tag.SyncReplyDeltas:
        if (!Array.isArray(body) || body.length > L.maxKeysPerMessage) fail('bad delta list')
        return { ok: true, msg: { tag, deltas: (body as unknown[]).map((d) => deltaIn(d, L)) } }
      case Tag.Snapshot: {
        if (!Array.isArray(body) || body.length !== 4) fail('snapshot malformed')
        const [rid, c, es, folded] = body as unknown[]
        if (typeof rid !== 'string' || !Array.isArray(folded)) fail('snapshot malformed')
        const ctx = ctxIn(c, L)
        const f = foldedIn(folded, L)
        return { ok: true, msg: { tag, replicaId: rid as string, state: { ctx, store: entriesIn(es, ctx, L) }, folded: f } }
      }
      default:
        return { ok: false, error: `unknown tag ${String(tag)}` }
    }
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, error: e.message }
    return { ok: false, error: 'malformed' }
  }
}
