/**
 * How SWIM messages meet the Transport (memberlist net.go): encoding, compound
 * packets filled up with piggybacked news (SWIM's dissemination by infection),
 * stream frames for push/pull and TCP pings, and the byte and drop counters. One
 * place, so every path counts its bytes and drops the same way.
 */
import type { Transport } from '../seams/transport.ts'
import { MESSAGE_OVERHEAD_BYTES, type Checked, type DecodedPacket, type SwimCodec } from '../codec/swim-envelope.ts'
import type { Msg } from '../codec/swim-messages.ts'
import type { SwimStats } from './types.ts'

/** Where spare room in a packet gets its news from: at most `budget` bytes, framing included. */
export type Piggyback = (budget: number) => Uint8Array[]

export class Wire {
  private stopped = false

  constructor(
    private readonly transport: Transport,
    readonly codec: SwimCodec,
    readonly stats: SwimStats,
    private readonly packetLimitBytes: number,
    private readonly piggyback: Piggyback,
  ) {}

  /** Sends `msgs` in one datagram, filling the rest of the budget with piggybacked news. */
  send(addr: string, msgs: Msg[], piggyback = true): void {
    if (this.stopped) return
    const encoded = msgs.map((m) => this.codec.encodeMsg(m))
    let used = this.codec.envelopeOverheadBytes
    for (const e of encoded) used += e.length + MESSAGE_OVERHEAD_BYTES
    if (piggyback) {
      const more = this.piggyback(this.packetLimitBytes - used)
      for (const m of more) encoded.push(m)
    }
    this.sendEncoded(addr, encoded)
  }

  /** Sends already-encoded messages, as many packets as they need. */
  sendEncoded(addr: string, encoded: Uint8Array[]): void {
    for (const pkt of this.codec.packAll(encoded, this.packetLimitBytes)) {
      this.stats.bytesOut += pkt.length
      this.transport.sendPacket(addr, pkt)
    }
  }

  /** One message as a stream frame, counted as sent. */
  frame(m: Msg): Uint8Array {
    const f = this.codec.pack([this.codec.encodeMsg(m)])
    this.stats.bytesOut += f.length
    return f
  }

  /** The transport's stream exchange, as it is (callers frame and read). */
  request(addr: string, frame: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return this.transport.request(addr, frame, timeoutMs)
  }

  /** A stream frame that came back: counted, decoded, its drop reason counted if bad. */
  readFrame(data: Uint8Array): Checked<DecodedPacket> {
    this.received(data.length)
    return this.decode(data, true)
  }

  received(bytes: number): void {
    this.stats.bytesIn += bytes
  }

  decode(data: Uint8Array, stream: boolean): Checked<DecodedPacket> {
    const r = this.codec.decode(data, stream)
    if (!r.ok) this.drop(r.reason)
    return r
  }

  drop(reason: string): void {
    this.stats.drops.set(reason, (this.stats.drops.get(reason) ?? 0) + 1)
  }

  stop(): void {
    this.stopped = true
  }
}
