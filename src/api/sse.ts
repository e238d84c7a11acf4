/**
 * GET /v1/events: node events as Server-Sent Events (`event: health|member|target`,
 * JSON data). Each client gets a bounded queue: a client that cannot keep up
 * loses the oldest events (and is told how many) rather than growing memory.
 */
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { ApiDeps } from './deps.ts'
import type { NodeEvent } from '../node/types.ts'

/** Events buffered per client before the oldest are dropped. */
const MAX_QUEUED = 10_000
/** Comment line sent this often (ms) so proxies and clients see a live stream. */
const KEEPALIVE_MS = 15_000

export function eventsRoute(deps: ApiDeps) {
  return (c: Context) =>
    streamSSE(c, async (stream) => {
      const queue: NodeEvent[] = []
      let dropped = 0
      let wake: (() => void) | undefined
      let unsubscribe: () => void
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
        await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: String(e) }) })
        return
      }
      let closed = false
      stream.onAbort(() => {
        closed = true
        wake?.()
      })
      await stream.writeSSE({ event: 'hello', data: JSON.stringify({ node: deps.node, version: deps.version }) })
      try {
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
          await stream.writeSSE({ event: e.type, data: JSON.stringify(e) })
        }
      } finally {
        unsubscribe()
      }
    })
}
