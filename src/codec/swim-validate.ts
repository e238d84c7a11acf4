/**
 * Validation of decoded SWIM messages: every field's type, every length and count
 * against WireLimits. Returns the typed message or a drop reason; never throws.
 */
import type { WireLimits } from './limits.ts'
import { MsgTag, type Meta, type Msg, type PushState, type WireState } from './swim-messages.ts'

/** Why input was dropped; `replay`: a sealed envelope seen before from its sender boot, or older than its window. */
/** Why a datagram, frame or message was dropped; `cluster`: another cluster's name (or none where we have one). */
export type DropReason = 'malformed' | 'truncated' | 'oversized' | 'version' | 'auth' | 'replay' | 'cluster' | 'unknown-tag' | 'limit'

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: DropReason }

class Bad extends Error {
  constructor(readonly reason: DropReason) {
    super(reason)
  }
}

const isU32 = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff
const isInc = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0

function num(x: unknown, f: (x: unknown) => x is number): number {
  if (!f(x)) throw new Bad('malformed')
  return x
}

function str(x: unknown, max: number): string {
  if (typeof x !== 'string') throw new Bad('malformed')
  if (x.length > max) throw new Bad('limit')
  return x
}

function bytes(x: unknown, max: number): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new Bad('malformed')
  if (x.length > max) throw new Bad('limit')
  // A copy: the delegate may keep it, and the packet buffer is not ours to pin.
  return new Uint8Array(x)
}

function meta(x: unknown, lim: WireLimits): Meta {
  if (typeof x !== 'object' || x === null || Array.isArray(x) || x instanceof Uint8Array) throw new Bad('malformed')
  const entries = Object.entries(x as Record<string, unknown>)
  if (entries.length > lim.maxMetaEntries) throw new Bad('limit')
  const out: Meta = Object.create(null)
  let size = 0
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw new Bad('malformed')
    size += k.length + v.length
    if (size > lim.maxMetaBytes) throw new Bad('limit')
    out[k] = v
  }
  return { ...out }
}

function pushState(x: unknown, lim: WireLimits): PushState {
  if (!Array.isArray(x) || x.length !== 5) throw new Bad('malformed')
  const st = x[3]
  if (st !== 0 && st !== 1 && st !== 2 && st !== 3) throw new Bad('malformed')
  return {
    node: str(x[0], lim.maxNameLength),
    addr: str(x[1], lim.maxAddrLength),
    inc: num(x[2], isInc),
    state: st as WireState,
    meta: meta(x[4], lim),
  }
}

function check(a: unknown, lim: WireLimits): Msg {
  if (!Array.isArray(a) || a.length < 1) throw new Bad('malformed')
  const t = a[0]
  const want = (n: number) => {
    if (a.length !== n) throw new Bad('malformed')
  }
  const name = (x: unknown) => str(x, lim.maxNameLength)
  const addr = (x: unknown) => str(x, lim.maxAddrLength)
  switch (t) {
    case MsgTag.Ping:
      want(5)
      return { t, seq: num(a[1], isU32), target: name(a[2]), from: name(a[3]), addr: addr(a[4]) }
    case MsgTag.PingReq:
      want(7)
      if (typeof a[6] !== 'boolean') throw new Bad('malformed')
      return { t, seq: num(a[1], isU32), target: name(a[2]), targetAddr: addr(a[3]), from: name(a[4]), addr: addr(a[5]), nack: a[6] }
    case MsgTag.Ack:
    case MsgTag.Nack:
      want(2)
      return { t, seq: num(a[1], isU32) }
    case MsgTag.Suspect:
    case MsgTag.Dead:
      want(4)
      return { t, inc: num(a[1], isInc), node: name(a[2]), from: name(a[3]) }
    case MsgTag.Alive:
      want(5)
      return { t, inc: num(a[1], isInc), node: name(a[2]), addr: addr(a[3]), meta: meta(a[4], lim) }
    case MsgTag.Leave:
      want(3)
      return { t, inc: num(a[1], isInc), node: name(a[2]) }
    case MsgTag.User:
      want(2)
      return { t, payload: bytes(a[1], lim.maxUserPayloadBytes) }
    case MsgTag.PushPull: {
      want(5)
      if (typeof a[1] !== 'boolean' || !Array.isArray(a[3])) throw new Bad('malformed')
      if (a[3].length > lim.maxPushPullStates) throw new Bad('limit')
      return { t, join: a[1], from: name(a[2]), states: a[3].map((s) => pushState(s, lim)), user: bytes(a[4], lim.maxUserPayloadBytes) }
    }
    case MsgTag.UserRequest:
      want(3)
      return { t, from: name(a[1]), payload: bytes(a[2], lim.maxUserPayloadBytes) }
    case MsgTag.UserResponse:
      want(2)
      return { t, payload: bytes(a[1], lim.maxUserPayloadBytes) }
    case MsgTag.StreamError:
      want(2)
      return { t, reason: str(a[1], 512) }
    default:
      throw new Bad('unknown-tag')
  }
}

/** Validates one decoded message array. */
export function validateMessage(a: unknown, lim: WireLimits): Checked<Msg> {
  try {
    return { ok: true, value: check(a, lim) }
  } catch (e) {
    return { ok: false, reason: e instanceof Bad ? e.reason : 'malformed' }
  }
}
