/**
 * Hard limits on everything read from the membership wire. Decoding rejects input
 * past any of them before it reaches the core, so a hostile or broken peer can cost
 * at most one bounded allocation per packet or frame.
 */

export interface WireLimits {
  /** Largest datagram accepted (bytes). A UDP payload cannot exceed 65507 anyway. */
  maxPacketBytes: number
  /** Largest stream frame accepted (bytes): full push/pull state of a big cluster. */
  maxFrameBytes: number
  /** Messages in one compound packet. */
  maxMessagesPerPacket: number
  /** Member states in one push/pull. */
  maxPushPullStates: number
  /** Node name length (characters). */
  maxNameLength: number
  /** Address length (characters). */
  maxAddrLength: number
  /** Encoded node metadata (bytes). */
  maxMetaBytes: number
  /** Metadata entries. */
  maxMetaEntries: number
  /** Opaque delegate payload (bytes). */
  maxUserPayloadBytes: number
}

export const DEFAULT_WIRE_LIMITS: WireLimits = {
  maxPacketBytes: 65_507,
  maxFrameBytes: 8 * 1024 * 1024,
  maxMessagesPerPacket: 256,
  maxPushPullStates: 20_000,
  maxNameLength: 128,
  maxAddrLength: 64,
  maxMetaBytes: 512,
  maxMetaEntries: 16,
  maxUserPayloadBytes: 4 * 1024 * 1024,
}
