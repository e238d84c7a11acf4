/**
 * The hook by which layers above membership (the delta-CRDT state) ride on SWIM,
 * modelled on hashicorp/memberlist's Delegate: user payloads piggyback on gossip
 * packets within the packet budget, and full state travels on the TCP push/pull.
 * Membership treats every payload as opaque bytes.
 */

export interface Delegate {
  /** Metadata advertised for this node (HTTP address, version); at most `limitBytes`. */
  nodeMeta(limitBytes: number): Uint8Array
  /**
   * Payloads to piggyback on an outgoing packet. Each costs `overheadBytes` of framing
   * on top of its length; the total must stay within `limitBytes`.
   */
  getBroadcasts(overheadBytes: number, limitBytes: number): Uint8Array[]
  /** A piggybacked payload from a peer (already authenticated and size-checked). */
  notifyMsg(from: string, payload: Uint8Array): void
  /** This node's state for a push/pull exchange; `join` is true on the initial join sync. */
  localState(join: boolean): Uint8Array
  /** The peer's state from a push/pull exchange. */
  mergeRemoteState(from: string, payload: Uint8Array, join: boolean): void
  /**
   * Optional request/response over the membership stream (for digest-driven
   * anti-entropy): a peer's request in, this node's reply out.
   */
  handleUserRequest?(from: string, payload: Uint8Array): Promise<Uint8Array> | Uint8Array
  /**
   * Optional: membership hands the delegate its hooks once, at construction.
   * `gossipSoon` asks for an extra gossip round shortly (urgent payloads just queued).
   */
  attach?(hooks: { gossipSoon(): void }): void
}
