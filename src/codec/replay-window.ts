/**
 * Anti-replay for sealed envelopes: every sender boot numbers its envelopes
 * 0, 1, 2, ... (keyring.ts), and a receiver accepts each number at most once,
 * within a sliding window below the highest number seen (IPsec ESP, RFC 4303
 * §3.4.3; DTLS, RFC 6347 §4.1.2.6). The window is a ring of 32-bit words cleared
 * a word at a time as it slides, so it never shifts bits (RFC 6479). Windows are
 * kept per sender boot in a bounded LRU map: only authenticated envelopes create
 * one, and a key holder cycling through boot ids evicts the least recent rather
 * than growing memory.
 */

/**
 * Envelope numbers accepted below the highest seen from the same boot. One counter covers
 * every envelope a node seals (all peers, datagrams and stream frames), so a legitimate
 * envelope is refused once that sender has sealed this many newer ones that arrived first:
 * at the heaviest gossip (local profile with a backlog, about 1,200 envelopes/s) 4096 spans
 * some 3 s, on lan over 10 s, far beyond UDP reordering and a push/pull frame's transit.
 * Larger tolerates more delay at 4 bytes per 32 numbers per tracked boot. Default 4096.
 */
export const DEFAULT_REPLAY_WINDOW = 4096
/**
 * Sender boots tracked at once; the least recently heard is forgotten beyond this. A cluster
 * needs about one per live peer plus its recent restarts; a forgotten boot's old envelopes
 * would be accepted once more (SWIM's incarnations still refuse stale news, as in memberlist).
 * Larger remembers longer at about 0.6 KiB each with the default window. Default 1024.
 */
export const DEFAULT_MAX_BOOTS = 1024

export type ReplayVerdict = 'new' | 'duplicate' | 'too-old'

/** One sender boot's window over its envelope numbers (non-negative integers below 2^32). */
export class ReplayWindow {
  private readonly ring: Uint32Array
  private readonly mask: number
  private top = -1

  /** `size` numbers below the highest are tracked; a power of two, at least 64. */
  constructor(readonly size = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isInteger(Math.log2(size)) || size < 64) throw new Error(`replay window must be a power of two ≥ 64, got ${size}`)
    // One word more than the window, so the word being cleared never holds live bits.
    this.ring = new Uint32Array(size / 32 + 1)
    this.mask = this.ring.length
  }

  /** What `n` would be, without recording it (call accept once the envelope is authentic). */
  check(n: number): ReplayVerdict {
    if (n > this.top) return 'new'
    if (n <= this.top - this.size) return 'too-old'
    const word = this.ring[Math.floor(n / 32) % this.mask] as number
    return word & (1 << (n & 31)) ? 'duplicate' : 'new'
  }

  /** Records `n` as seen; slides the window when it is the highest yet. */
  accept(n: number): void {
    if (n > this.top) {
      const from = this.top < 0 ? 0 : Math.floor(this.top / 32) + 1
      const to = Math.floor(n / 32)
      // Words the window slides into held numbers a whole ring ago: clear them (at most the ring).
      for (let w = Math.max(from, to - this.mask + 1); w <= to; w++) this.ring[w % this.mask] = 0
      this.top = n
    }
    const i = Math.floor(n / 32) % this.mask
    this.ring[i] = (this.ring[i] as number) | (1 << (n & 31))
  }
}

/** Windows per sender boot, least recently heard forgotten first. */
export class ReplayGuard {
  private readonly boots = new Map<string, ReplayWindow>()

  constructor(
    readonly windowSize = DEFAULT_REPLAY_WINDOW,
    readonly maxBoots = DEFAULT_MAX_BOOTS,
  ) {}

  /** What envelope `n` of `boot` would be; a boot never heard from is new. */
  check(boot: string, n: number): ReplayVerdict {
    return this.boots.get(boot)?.check(n) ?? 'new'
  }

  /** Records envelope `n` of `boot` (authenticated) and marks the boot most recent. */
  accept(boot: string, n: number): void {
    let w = this.boots.get(boot)
    if (w) this.boots.delete(boot)
    else {
      w = new ReplayWindow(this.windowSize)
      if (this.boots.size >= this.maxBoots) this.boots.delete(this.boots.keys().next().value as string)
    }
    this.boots.set(boot, w)
    w.accept(n)
  }

  get trackedBoots(): number {
    return this.boots.size
  }
}
