/**
 * SWIM envelopes: a CBOR array [protocol version, [message bytes, ...]] (plus the
 * cluster name as a third element when one is set, memberlist's label), sealed with
 * AES-256-GCM when a keyring is set. One envelope is one datagram (a compound packet
 * of several messages, like memberlist's compoundMsg) or one stream frame. Each
 * message is CBOR-encoded on its own so the sender knows its exact size when packing.
 * Decoding (cbor-read.ts, strict) checks size, seal, replay, version and every
 * message, returning a result or a drop reason; it never throws. A sealed envelope
 * is accepted once: its sender boot and number are checked against that boot's
 * window (replay-window.ts) after the tag, so only authentic envelopes move it.
 * An envelope whose cluster name is not ours is dropped as `cluster`: two clusters
 * on one network never merge by accident (inside a seal the name is authenticated).
 */
import { readCbor } from './cbor-read.ts'
import { encodeCbor } from './cbor-write.ts'
import { SEALED_KIND, SEALED_KIND_V1, SEAL_OVERHEAD_BYTES, type Keyring } from './keyring.ts'
import { ReplayGuard } from './replay-window.ts'
import { DEFAULT_WIRE_LIMITS, type WireLimits } from './limits.ts'
import { toWire, type Msg } from './swim-messages.ts'
import { validateMessage, type Checked, type DropReason } from './swim-validate.ts'

export const SWIM_PROTOCOL_VERSION = 1

/** Envelope header upper bound: array(2) + version + array(n ≤ 65535). */
const HEADER_BYTES = 5
/** Per-message framing upper bound inside an envelope: a byte-string header. */
export const MESSAGE_OVERHEAD_BYTES = 3


export interface DecodedPacket {
  msgs: Msg[]
  /** Messages inside the envelope that were dropped, one reason each. */
  bad: DropReason[]
}

export class SwimCodec {
  readonly limits: WireLimits
  /** Envelopes seen per sender boot; one per node, shared by datagrams and stream frames. */
  readonly replay: ReplayGuard

  /** The cluster name every envelope carries and must match ('' = none, and the envelope stays two elements). */
  readonly clusterName: string

  constructor(private readonly keyring?: Keyring, limits: Partial<WireLimits> = {}, replay = new ReplayGuard(), clusterName = '') {
    this.limits = { ...DEFAULT_WIRE_LIMITS, ...limits }
    this.replay = replay
    this.clusterName = clusterName
    this.labelBytes = clusterName ? encodeCbor(clusterName).length : 0
  }

  private readonly labelBytes: number

  get encrypted(): boolean {
    return this.keyring !== undefined
  }

  /** Bytes an envelope adds on top of its messages and their framing. */
  get envelopeOverheadBytes(): number {
    return HEADER_BYTES + this.labelBytes + (this.keyring ? SEAL_OVERHEAD_BYTES : 0)
  }

  encodeMsg(m: Msg): Uint8Array {
    return encodeCbor(toWire(m))
  }

  /** Wraps already-encoded messages into one (sealed) envelope. */
  pack(msgs: Uint8Array[]): Uint8Array {
    const plain = encodeCbor(this.clusterName ? [SWIM_PROTOCOL_VERSION, msgs, this.clusterName] : [SWIM_PROTOCOL_VERSION, msgs])
    return this.keyring ? this.keyring.seal(plain) : plain
  }

  /**
   * Greedy compound packing: as many messages per envelope as fit `limitBytes`,
   * in order; a message too big on its own still gets its own envelope.
   */
  packAll(msgs: Uint8Array[], limitBytes: number): Uint8Array[] {
    const out: Uint8Array[] = []
    let cur: Uint8Array[] = []
    let size = this.envelopeOverheadBytes
    for (const m of msgs) {
      const cost = m.length + MESSAGE_OVERHEAD_BYTES
      if (cur.length > 0 && size + cost > limitBytes) {
        out.push(this.pack(cur))
        cur = []
        size = this.envelopeOverheadBytes
      }
      cur.push(m)
      size += cost
    }
    if (cur.length > 0) out.push(this.pack(cur))
    return out
  }

  /** Decodes a datagram (maxPacketBytes) or a stream frame (maxFrameBytes). */
  decode(data: Uint8Array, stream = false): Checked<DecodedPacket> {
    const max = stream ? this.limits.maxFrameBytes : this.limits.maxPacketBytes
    if (data.length > max) return { ok: false, reason: 'oversized' }
    if (data.length === 0) return { ok: false, reason: 'truncated' }
    let plain = data
    if (this.keyring) {
      // A heck from before replay protection: authentic perhaps, but never told from its replay.
      if (data[0] === SEALED_KIND_V1) return { ok: false, reason: 'version' }
      const opened = this.keyring.openEnvelope(data)
      if (!opened) return { ok: false, reason: 'auth' }
      // Seen before, or older than the window: either way it may be a replay, and is not processed.
      if (this.replay.check(opened.boot, opened.number) !== 'new') return { ok: false, reason: 'replay' }
      this.replay.accept(opened.boot, opened.number)
      plain = opened.plain
    } else if (data[0] === SEALED_KIND || data[0] === SEALED_KIND_V1) {
      // A sealed envelope reaching a node without keys: the sender has a key we lack.
      return { ok: false, reason: 'auth' }
    }
    const r = readCbor(plain)
    if (!r.ok) return { ok: false, reason: r.reason }
    const outer = r.value
    if (!Array.isArray(outer) || outer.length < 2 || outer.length > 3) return { ok: false, reason: 'malformed' }
    if (outer[0] !== SWIM_PROTOCOL_VERSION) return { ok: false, reason: 'version' }
    if ((outer[2] ?? '') !== this.clusterName) return { ok: false, reason: 'cluster' }
    const inner = outer[1]
    if (!Array.isArray(inner)) return { ok: false, reason: 'malformed' }
    if (inner.length > this.limits.maxMessagesPerPacket) return { ok: false, reason: 'limit' }
    const msgs: Msg[] = []
    const bad: DropReason[] = []
    for (const raw of inner) {
      if (!(raw instanceof Uint8Array)) {
        bad.push('malformed')
        continue
      }
      const arr = readCbor(raw)
      if (!arr.ok) {
        bad.push('malformed')
        continue
      }
      const v = validateMessage(arr.value, this.limits)
      if (v.ok) msgs.push(v.value)
      else bad.push(v.reason)
    }
    return { ok: true, value: { msgs, bad } }
  }
}

export type { DropReason, Checked }
