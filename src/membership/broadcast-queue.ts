/**
 * The piggyback broadcast queue (memberlist's TransmitLimitedQueue): each message
 * about a node is sent up to mult × ⌈log10(n + 1)⌉ times, the least-sent first and,
 * among equals, the newest first. A newer message about the same node replaces the
 * queued one, so stale news is never sent after fresher news.
 *
 * Buckets by transmit count, with tombstones instead of splicing: at 1,000 nodes a
 * queue holds ~1,000 items and is read on every packet, so each take must cost
 * only what it returns (amortized), not the queue's length.
 */

interface Item {
  key: string
  msg: Uint8Array
  transmits: number
  id: number
  /** False once sent to its limit, replaced, or moved to the next bucket's array. */
  live: boolean
}

interface Bucket {
  items: Item[]
  live: number
}

export class BroadcastQueue {
  // buckets[t]: items sent t times; roughly oldest first (exactly, within one take).
  private buckets: Bucket[] = []
  private byKey = new Map<string, Item>()
  private nextId = 0

  get size(): number {
    return this.byKey.size
  }

  /** Queues `msg`; a queued message with the same `key` (a node name) is invalidated. */
  queue(key: string, msg: Uint8Array): void {
    const old = this.byKey.get(key)
    if (old) this.kill(old)
    const item: Item = { key, msg, transmits: 0, id: this.nextId++, live: true }
    this.byKey.set(key, item)
    this.add(0, item)
  }

  /**
   * Takes messages that fit `limitBytes`, each costing its length plus `overheadBytes`,
   * counting one transmit for each and retiring those that reached `transmitLimit`.
   */
  take(overheadBytes: number, limitBytes: number, transmitLimit: number): Uint8Array[] {
    const out: Uint8Array[] = []
    const moved: Item[] = []
    let remaining = limitBytes
    for (let t = 0; t < this.buckets.length && remaining > overheadBytes; t++) {
      const b = this.buckets[t] as Bucket
      if (b.live === 0) {
        b.items.length = 0
        continue
      }
      // Skipped-over big items stay; taken ones become tombstones.
      for (let i = b.items.length - 1; i >= 0 && remaining > overheadBytes; i--) {
        const item = b.items[i] as Item
        if (!item.live) continue
        const cost = item.msg.length + overheadBytes
        if (cost > remaining) continue
        remaining -= cost
        out.push(item.msg)
        item.live = false
        b.live--
        moved.push(item)
      }
      while (b.items.length > 0 && !(b.items[b.items.length - 1] as Item).live) b.items.pop()
    }
    // Oldest first into the next bucket, so newest-first still holds for this batch.
    for (let i = moved.length - 1; i >= 0; i--) {
      const old = moved[i] as Item
      if (old.transmits + 1 >= transmitLimit) {
        this.byKey.delete(old.key)
        continue
      }
      const next: Item = { ...old, transmits: old.transmits + 1, live: true }
      this.byKey.set(old.key, next)
      this.add(next.transmits, next)
    }
    return out
  }

  /** Drops everything (used on shutdown). */
  clear(): void {
    this.buckets = []
    this.byKey.clear()
  }

  private add(t: number, item: Item): void {
    while (this.buckets.length <= t) this.buckets.push({ items: [], live: 0 })
    const b = this.buckets[t] as Bucket
    b.items.push(item)
    b.live++
  }

  private kill(item: Item): void {
    this.byKey.delete(item.key)
    if (!item.live) return
    item.live = false
    const b = this.buckets[item.transmits]
    if (!b) return
    b.live--
    // Compact once tombstones dominate, keeping the amortized cost constant.
    if (b.items.length > 32 && b.items.length > 2 * b.live) b.items = b.items.filter((x) => x.live)
  }
}
