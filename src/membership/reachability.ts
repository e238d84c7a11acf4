/**
 * Which members this node has seen answer at their address, asked on demand before
 * state goes to them. Without --encrypt a packet's claims (a name, an address) are
 * unauthenticated, so a raw-socket stranger could send one push/pull or sync request
 * and read the whole replicated state, or forge pings that make this node push its
 * state to an address of the forger's choosing. Before either, the claimed address
 * must answer a ping of ours under the claimed name (the prober's verify): one round
 * trip, once per member address. It is reachability, not authentication: only
 * --encrypt authenticates (memberlist has the same trust model).
 */

export type Verify = (name: string, addr: string, onAck: () => void, onTimeout: () => void) => void

export class Reachability {
  /** name → the address it answered at. */
  private readonly seen = new Map<string, string>()
  private readonly pending = new Map<string, Promise<boolean>>()

  /**
   * `maxEntries` bounds the cache (strangers that answer pings can make names at will);
   * past it the oldest entries go, and are asked again if they come back.
   */
  constructor(private readonly verify: Verify, private readonly maxEntries = 16_384) {}

  /** True once `name` answered a ping at `addr`. */
  known(name: string, addr: string): boolean {
    return this.seen.get(name) === addr
  }

  /** Resolves true when `name` answers at `addr` (at once if it did before), false after the probe timeout. */
  ensure(name: string, addr: string): Promise<boolean> {
    if (this.known(name, addr)) return Promise.resolve(true)
    const key = `${name}\u0000${addr}`
    let p = this.pending.get(key)
    if (!p) {
      p = new Promise<boolean>((resolve) =>
        this.verify(
          name,
          addr,
          () => {
            this.note(name, addr)
            resolve(true)
          },
          () => resolve(false),
        ),
      ).finally(() => this.pending.delete(key))
      this.pending.set(key, p)
    }
    return p
  }

  /** Records an answer from `name` at `addr` (a probe's ack counts too). */
  note(name: string, addr: string): void {
    this.seen.delete(name)
    this.seen.set(name, addr)
    if (this.seen.size > this.maxEntries) this.seen.delete(this.seen.keys().next().value as string)
  }
}
