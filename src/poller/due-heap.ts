/**
 * A binary min-heap of (due time, item) for the scheduler, with lazy deletion:
 * re-keying an item pushes a new node with a new generation, and nodes whose
 * generation no longer matches (or whose item is gone) are dropped when they
 * surface. Ties break by insertion order, so a seeded run is reproducible.
 *
 * Nodes live in parallel arrays rather than one object each: the scheduler pushes
 * twice per check (next slot, timeout deadline), and at 10,000 checks/s node
 * objects would be 20,000 bits of garbage a second.
 */

export type IsValid<T> = (item: T, gen: number) => boolean

export class DueHeap<T> {
  private dues: number[] = []
  private seqs: number[] = []
  private gens: number[] = []
  private items: T[] = []
  private seq = 0

  get length(): number {
    return this.items.length
  }

  push(due: number, item: T, gen: number): void {
    const seq = this.seq++
    let i = this.items.length
    // Grow by one, then sift the hole up.
    this.dues.push(due)
    this.seqs.push(seq)
    this.gens.push(gen)
    this.items.push(item)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.before(due, seq, p)) break
      this.move(p, i)
      i = p
    }
    this.put(i, due, seq, gen, item)
  }

  /** Due time of the earliest valid node, discarding stale ones on the way. */
  peekDue(valid: IsValid<T>): number | undefined {
    while (this.items.length > 0) {
      if (valid(this.items[0] as T, this.gens[0] as number)) return this.dues[0]
      this.pop()
    }
    return undefined
  }

  /** Removes and returns the earliest valid item due at or before `now`. */
  popDue(now: number, valid: IsValid<T>): T | undefined {
    while (this.items.length > 0) {
      const item = this.items[0] as T
      if (!valid(item, this.gens[0] as number)) {
        this.pop()
        continue
      }
      if ((this.dues[0] as number) > now) return undefined
      this.pop()
      return item
    }
    return undefined
  }

  /** a (due, seq) sorts before node j. */
  private before(due: number, seq: number, j: number): boolean {
    const d = this.dues[j] as number
    return due < d || (due === d && seq < (this.seqs[j] as number))
  }

  private move(from: number, to: number): void {
    this.dues[to] = this.dues[from] as number
    this.seqs[to] = this.seqs[from] as number
    this.gens[to] = this.gens[from] as number
    this.items[to] = this.items[from] as T
  }

  private put(i: number, due: number, seq: number, gen: number, item: T): void {
    this.dues[i] = due
    this.seqs[i] = seq
    this.gens[i] = gen
    this.items[i] = item
  }

  private pop(): void {
    const n = this.items.length - 1
    const due = this.dues.pop() as number
    const seq = this.seqs.pop() as number
    const gen = this.gens.pop() as number
    const item = this.items.pop() as T
    if (n === 0) return
    // Sift the former last node down from the root.
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      let m = l
      if (r < n && this.before(this.dues[r] as number, this.seqs[r] as number, l)) m = r
      const dm = this.dues[m] as number
      if (!(dm < due || (dm === due && (this.seqs[m] as number) < seq))) break
      this.move(m, i)
      i = m
    }
    this.put(i, due, seq, gen, item)
  }
}
