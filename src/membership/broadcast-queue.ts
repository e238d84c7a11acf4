/**
 * The piggyback broadcast queue (memberlist's TransmitLimitedQueue): each message
 * about a node is sent up to mult × ⌈log10(n + 1)⌉ times, the least-sent first and,
 * among equals, the newest first. A newer message about the same node replaces the
 * queued one, so stale news is never sent after fresher news.
 */

interface Item {
  key: string
  msg: Uint8Array
  transmits: number
  id: number
}

export class BroadcastQueue {
  // buckets[t] holds the items sent t times, ordered by id (oldest first).
  private buckets: Item[][] = []
  private byKey = new Map<string, Item>()
  private nextId = 0

  get size(): number {
    return this.byKey.size
  }

  /** Queues `msg`; a queued message with the same `key` (a node name) is invalidated. */
  queue(key: string, msg: Uint8Array): void {
    const old = this.byKey.get(key)
    if (old) this.remove(old)
    const item: Item = { key, msg, transmits: 0, id: this.nextId++ }
    this.byKey.set(key, item)
    this.bucket(0).push(item)
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
      const b = this.buckets[t] as Item[]
      for (let i = b.length - 1; i >= 0 && remaining > overheadBytes; i--) {
        const item = b[i] as Item
        const cost = item.msg.length + overheadBytes
        if (cost > remaining) continue
        remaining -= cost
        out.push(item.msg)
        b.splice(i, 1)
        moved.push(item)
      }
    }
    for (const item of moved) {
      item.transmits++
      if (item.transmits >= transmitLimit) this.byKey.delete(item.key)
      else insertById(this.bucket(item.transmits), item)
    }
    return out
  }

  /** Drops everything (used on shutdown). */
  clear(): void {
    this.buckets = []
    this.byKey.clear()
  }

  private bucket(t: number): Item[] {
    while (this.buckets.length <= t) this.buckets.push([])
    return this.buckets[t] as Item[]
  }

  private remove(item: Item): void {
    this.byKey.delete(item.key)
    const b = this.buckets[item.transmits]
    if (!b) return
    const i = b.indexOf(item)
    if (i >= 0) b.splice(i, 1)
  }
}

/** Keeps a bucket ordered by id, so "newest first" holds after items move between buckets. */
function insertById(b: Item[], item: Item): void {
  let lo = 0
  let hi = b.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((b[mid] as Item).id < item.id) lo = mid + 1
    else hi = mid
  }
  b.splice(lo, 0, item)
}
