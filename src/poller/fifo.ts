/**
 * A plain FIFO queue with O(1) push and shift (a head index over an array that
 * is compacted now and then), for the scheduler's wait queues.
 */
export class Fifo<T> {
  private items: T[] = []
  private head = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(x: T): void {
    this.items.push(x)
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined
    const x = this.items[this.head] as T
    this.items[this.head++] = undefined as T
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return x
  }

  clear(): void {
    this.items = []
    this.head = 0
  }
}
