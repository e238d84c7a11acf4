/**
 * A binary min-heap of (due time, item) for the scheduler, with lazy deletion:
 * re-keying an item pushes a new node with a new generation, and nodes whose
 * generation no longer matches (or whose item is gone) are dropped when they
 * surface. Ties break by insertion order, so a seeded run is reproducible.
 */

interface Node<T> {
  due: number
  seq: number
  item: T
  gen: number
}

export type IsValid<T> = (item: T, gen: number) => boolean

export class DueHeap<T> {
  private h: Node<T>[] = []
  private seq = 0

  get length(): number {
    return this.h.length
  }

  push(due: number, item: T, gen: number): void {
    const h = this.h
    const node: Node<T> = { due, seq: this.seq++, item, gen }
    let i = h.length
    h.push(node)
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = h[p] as Node<T>
      if (!less(node, parent)) break
      h[i] = parent
      i = p
    }
    h[i] = node
  }

  /** Due time of the earliest valid node, discarding stale ones on the way. */
  peekDue(valid: IsValid<T>): number | undefined {
    for (;;) {
      const top = this.h[0]
      if (!top) return undefined
      if (valid(top.item, top.gen)) return top.due
      this.pop()
    }
  }

  /** Removes and returns the earliest valid item due at or before `now`. */
  popDue(now: number, valid: IsValid<T>): T | undefined {
    for (;;) {
      const top = this.h[0]
      if (!top) return undefined
      if (!valid(top.item, top.gen)) {
        this.pop()
        continue
      }
      if (top.due > now) return undefined
      this.pop()
      return top.item
    }
  }

  private pop(): void {
    const h = this.h
    const last = h.pop()
    if (!last || h.length === 0) return
    const n = h.length
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      let m = l
      if (r < n && less(h[r] as Node<T>, h[l] as Node<T>)) m = r
      if (!less(h[m] as Node<T>, last)) break
      h[i] = h[m] as Node<T>
      i = m
    }
    h[i] = last
  }
}

function less<T>(a: Node<T>, b: Node<T>): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq)
}
