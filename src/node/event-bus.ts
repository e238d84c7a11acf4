/**
 * Fan-out of node events to live subscribers (SSE streams, the in-process TUI,
 * webhooks). A slow subscriber never blocks the node: delivery is synchronous
 * and each subscriber buffers on its own side, bounded there.
 */
import type { NodeEvent } from './types.ts'

export type Listener = (e: NodeEvent) => void

/**
 * The bus's own bound on live subscribers: a backstop against a leak, not the policy.
 * The policy is the HTTP API's --max-event-streams (src/api/sse.ts), which refuses
 * over-limit clients with 503 before they subscribe; it may be set up to this value.
 */
export const MAX_SUBSCRIBERS = 100_000

/** subscribe() past the bound; callers that face clients turn it into a 503. */
export class SubscriberLimitError extends Error {
  constructor(readonly max: number) {
    super(`too many event subscribers (max ${max})`)
  }
}

export class EventBus {
  private listeners = new Set<Listener>()

  /** Maximum live subscribers; each SSE client is one, so this bounds memory per node. */
  constructor(readonly maxSubscribers = MAX_SUBSCRIBERS) {}

  /** Throws SubscriberLimitError when maxSubscribers are subscribed already. */
  subscribe(fn: Listener): () => void {
    if (this.listeners.size >= this.maxSubscribers) throw new SubscriberLimitError(this.maxSubscribers)
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
