/**
 * SWIM wire messages (memberlist's message types, adapted). Tags are numeric and
 * append-only: never renumber or reuse one; add new tags at the end. Each message
 * travels as a CBOR array [tag, ...fields].
 */

export const MsgTag = {
  Ping: 1,
  PingReq: 2,
  Ack: 3,
  Nack: 4,
  Suspect: 5,
  Alive: 6,
  Dead: 7,
  Leave: 8,
  User: 9,
  PushPull: 10,
  UserRequest: 11,
  UserResponse: 12,
  StreamError: 13,
} as const

export type Meta = Record<string, string>

/** Member state on the wire: alive 0, suspect 1, dead 2, left 3. */
export type WireState = 0 | 1 | 2 | 3

export interface PushState {
  node: string
  addr: string
  inc: number
  state: WireState
  meta: Meta
}

export type Msg =
  /** Direct probe; `target` lets a reused address ignore probes meant for its previous owner. */
  | { t: typeof MsgTag.Ping; seq: number; target: string; from: string; addr: string }
  /** Ask the receiver to probe `target` for `from`; `nack` asks for a nack if it cannot. */
  | { t: typeof MsgTag.PingReq; seq: number; target: string; targetAddr: string; from: string; addr: string; nack: boolean }
  | { t: typeof MsgTag.Ack; seq: number }
  | { t: typeof MsgTag.Nack; seq: number }
  | { t: typeof MsgTag.Suspect; inc: number; node: string; from: string }
  | { t: typeof MsgTag.Alive; inc: number; node: string; addr: string; meta: Meta }
  | { t: typeof MsgTag.Dead; inc: number; node: string; from: string }
  /** Graceful leave, gossiped by the leaver: peers record `left` at once. */
  | { t: typeof MsgTag.Leave; inc: number; node: string }
  /** An opaque delegate broadcast piggybacked on gossip. */
  | { t: typeof MsgTag.User; payload: Uint8Array }
  | { t: typeof MsgTag.PushPull; join: boolean; from: string; states: PushState[]; user: Uint8Array }
  | { t: typeof MsgTag.UserRequest; from: string; payload: Uint8Array }
  | { t: typeof MsgTag.UserResponse; payload: Uint8Array }
  | { t: typeof MsgTag.StreamError; reason: string }

/** The array form sent on the wire. */
export function toWire(m: Msg): unknown[] {
  switch (m.t) {
    case MsgTag.Ping:
      return [m.t, m.seq, m.target, m.from, m.addr]
    case MsgTag.PingReq:
      return [m.t, m.seq, m.target, m.targetAddr, m.from, m.addr, m.nack]
    case MsgTag.Ack:
    case MsgTag.Nack:
      return [m.t, m.seq]
    case MsgTag.Suspect:
    case MsgTag.Dead:
      return [m.t, m.inc, m.node, m.from]
    case MsgTag.Alive:
      return [m.t, m.inc, m.node, m.addr, m.meta]
    case MsgTag.Leave:
      return [m.t, m.inc, m.node]
    case MsgTag.User:
      return [m.t, m.payload]
    case MsgTag.PushPull:
      return [m.t, m.join, m.from, m.states.map((s) => [s.node, s.addr, s.inc, s.state, s.meta]), m.user]
    case MsgTag.UserRequest:
      return [m.t, m.from, m.payload]
    case MsgTag.UserResponse:
      return [m.t, m.payload]
    case MsgTag.StreamError:
      return [m.t, m.reason]
  }
}
