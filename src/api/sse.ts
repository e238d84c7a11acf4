/**
 * GET /v1/events: node events as Server-Sent Events (`event: health|member|target`,
 * JSON data). Each client gets a bounded queue: a client that cannot keep up
 * loses the oldest events (and is told how many) rather than growing memory.
 * Open streams are bounded too (--max-event-streams): a client over the limit
 * gets 503 with Retry-After before any stream starts (RFC 9110 §15.6.4, §10.2.3),
 * so it knows to come back, where an error event inside a 200 stream looked like
 * success to every HTTP client and load balancer.
 */
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { ApiDeps } from './deps.ts'
import type { NodeEvent } from '../node/types.ts'
import { SubscriberLimitError } from '../node/event-bus.ts'
import { redact } from '../config/secrets.ts'

/** Events buffered per client before the oldest are dropped. */
const MAX_QUEUED = 10_000
/** Comment line sent this often (ms) so proxies and clients see a live stream. */
const KEEPALIVE_MS = 15_000
/** See ApiDeps.maxEventStreams. */
export const DEFAULT_MAX_EVENT_STREAMS = 256
/**
 * Retry-After (s) on a refused stream. Streams are long-lived, so a place frees up when a
 * client goes away, not on a schedule: shorter retries sooner, at the cost of more refused
 * requests from a crowd that waits.
 */
export const EVENT_STREAM_RETRY_AFTER_S = 5

export function eventsRoute(deps: ApiDeps) {
  const max = deps.maxEventStreams ?? DEFAULT_MAX_EVENT_STREAMS
  let open = 0
  deps.metrics
    .gauge('heck_event_streams', `Open GET /v1/events streams; over ${max} (--max-event-streams) a client gets 503`)
    .collect(() => [[undefined, open]])

  const refuse = (c: Context) => {
    c.header('Retry-After', String(EVENT_STREAM_RETRY_AFTER_S))
    return c.json(
      {
        error: `too many event streams (max ${max}): retry after ${EVENT_STREAM_RETRY_AFTER_S} s, or raise --max-event-streams`,
        detail: { max, open, retry_after_s: EVENT_STREAM_RETRY_AFTER_S },
      },
      503,
    )
  }

  return (c: Context) => {
    if (open >= max) return refuse(c)
    const queue: NodeEvent[] = []
    let dropped = 0
    let wake: (() => void) | undefined
    let unsubscribe: () => void
    // Subscribed before the stream starts, so a full bus is still a status code, not a stream.
    try {
      unsubscribe = deps.subscribe((e) => {
        if (queue.length >= MAX_QUEUED) {
          queue.shift()
          dropped++
        }
        queue.push(e)
        wake?.()
      })
    } catch (e) {
      if (e instanceof SubscriberLimitError) return refuse(c)
      throw e
    }
    open++
    let released = false
    const release = () => {
      if (released) return
      released = true
      open--
      unsubscribe()
    }
    return streamSSE(c, async (stream) => {
      let closed = false
      stream.onAbort(() => {
        closed = true
        wake?.()
      })
      try {
        await stream.writeSSE({ event: 'hello', data: JSON.stringify({ node: deps.node, version: deps.version }) })
        while (!closed) {
          if (queue.length === 0) {
            let cancel = () => {}
            await new Promise<void>((resolve) => {
              wake = resolve
              cancel = deps.clock.after(KEEPALIVE_MS, resolve)
            })
            cancel()
            wake = undefined
            if (queue.length === 0 && !closed) await stream.write(': keepalive\n\n')
            continue
          }
          if (dropped > 0) {
            await stream.writeSSE({ event: 'dropped', data: JSON.stringify({ count: dropped }) })
            dropped = 0
          }
          const e = queue.shift() as NodeEvent
          // Events carry no definitions today; any that does later is shown redacted all the same.
          await stream.writeSSE({ event: e.type, data: JSON.stringify(redact(e)) })
        }
      } finally {
        release()
      }
    })
  }
}
