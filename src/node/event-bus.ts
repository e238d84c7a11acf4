/**
 * Fan-out of node events to live subscribers (SSE streams, the in-process TUI,
 * webhooks). A slow subscriber never blocks the node: delivery is synchronous
 * and each subscriber buffers on its own side, bounded there.
 */
import type { NodeEvent } from './types.ts'

export type Listener = (e: NodeEvent) => void

export class EventBus {
  private listeners = new Set<Listener>()

  /** Maximum live subscribers; each SSE client is one, so this bounds memory per node. */
  constructor(readonly maxSubscribers = 256) {}

  subscribe(fn: Listener): () => void {
    if (this.listeners.size >= this.maxSubscribers) throw new Error(`too many event subscribers (max ${this.maxSubscribers})`)
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  emit(e: NodeEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e)
      } catch {
        // One broken subscriber must not stop the others or the node.
      }
    }
  }

  get size(): number {
    return this.listeners.size
  }
}
