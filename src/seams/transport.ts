/**
 * Transport seam (docs/ARCHITECTURE.md "Seams"): best-effort datagrams plus reliable
 * request/response streams, addressed by "host:port" strings. The real one is
 * Bun UDP + TCP on the same port (udp-transport.ts); the simulated one lives in
 * test/sim and adds seeded delay, loss, duplication, reordering and partitions.
 * Bytes cross this seam undecoded; src/codec decodes and validates them once.
 */

export type Addr = string // "host:port"; IPv6 as "[::1]:7946"

export interface Transport {
  /** The address peers should use to reach this transport (the advertise address). */
  readonly localAddr: Addr
  /** Fire-and-forget datagram. May be lost, duplicated or reordered. Never throws. */
  sendPacket(to: Addr, data: Uint8Array): void
  /** Registers the single datagram handler. */
  onPacket(handler: (from: Addr, data: Uint8Array) => void): void
  /**
   * Reliable exchange: sends one message over a stream and resolves with the peer's
   * one reply. Rejects on connect failure, when the peer's handler fails, or after
   * `timeoutMs`. A transport may cap frame sizes (the real one at maxFrameBytes): a
   * request over the cap is closed without a reply and a reply over it is refused,
   * so both reject.
   */
  request(to: Addr, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>
  /** Registers the single stream handler: one request in, one reply out. */
  onRequest(handler: (from: Addr, data: Uint8Array) => Promise<Uint8Array> | Uint8Array): void
  /** Stops listening and releases sockets. */
  close(): Promise<void>
}
