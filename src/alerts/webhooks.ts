/**
 * Webhook alerts (issue 6): on every status change of a target, the node that
 * owns it POSTs one JSON event to each configured URL. Only the owner sends, so a
 * change is announced once, not once per node. Failed deliveries are retried with
 * exponential backoff; the queue is bounded so a dead receiver cannot grow memory.
 */
import type { Status, Webhook } from '../config/types.ts'
import type { Clock } from '../seams/clock.ts'
import type { Logger } from '../seams/log.ts'
import { redactUrl } from '../config/secrets.ts'
import type { Counter, Registry } from '../metrics/registry.ts'

export interface AlertEvent {
  type: 'health'
  target: string
  status: Status
  previous: Status
  since: number
  /** The node that saw the change and sends the alert. */
  node: string
  error?: string
  url?: string
}

/** Delivers one request; resolves with the HTTP status or rejects on a network error. */
export type Poster = (url: string, headers: Record<string, string>, body: string, timeoutMs: number) => Promise<number>

export interface WebhookOptions {
  clock: Clock
  post: Poster
  log: Logger
  metrics: Registry
  /** Attempts per event and URL, the first included. More survives longer outages but delays later alerts. Default 6. */
  maxAttempts?: number
  /** Delay before the first retry (ms); doubles each time up to maxBackoffMs. Default 1000. */
  baseBackoffMs?: number
  /** Cap on the retry delay (ms). Default 30000. */
  maxBackoffMs?: number
  /** Per-request timeout (ms). Default 5000. */
  timeoutMs?: number
  /** Deliveries queued at most; beyond it the oldest is dropped and counted. Default 1000. */
  maxQueued?: number
}

interface Delivery {
  hook: Webhook
  body: string
  attempt: number
}

export class WebhookDispatcher {
  private hooks: Webhook[] = []
  private queue: Delivery[] = []
  private inFlight = 0
  private stopped = false
  private readonly results: Counter
  private readonly o: Required<Omit<WebhookOptions, 'clock' | 'post' | 'log' | 'metrics'>>

  constructor(private readonly opts: WebhookOptions) {
    this.o = {
      maxAttempts: opts.maxAttempts ?? 6,
      baseBackoffMs: opts.baseBackoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      timeoutMs: opts.timeoutMs ?? 5000,
      maxQueued: opts.maxQueued ?? 1000,
    }
    this.results = opts.metrics.counter('heck_webhook_deliveries_total', 'Webhook deliveries by result: ok, retry, failed, dropped')
  }

  setHooks(hooks: Webhook[]): void {
    this.hooks = hooks
  }

  send(e: AlertEvent): void {
    if (this.stopped || this.hooks.length === 0) return
    const body = JSON.stringify(e)
    for (const hook of this.hooks) this.enqueue({ hook, body, attempt: 1 })
  }

  private enqueue(d: Delivery): void {
    if (this.queue.length >= this.o.maxQueued) {
      this.queue.shift()
      this.results.inc({ result: 'dropped' })
    }
    this.queue.push(d)
    this.pump()
  }

  /** Sends a few at a time, so a burst of changes does not open hundreds of connections. */
  private pump(): void {
    while (!this.stopped && this.inFlight < 8 && this.queue.length > 0) {
      const d = this.queue.shift() as Delivery
      this.inFlight++
      void this.deliver(d).finally(() => {
        this.inFlight--
        this.pump()
      })
    }
  }

  private async deliver(d: Delivery): Promise<void> {
    let why: string
    try {
      const status = await this.opts.post(d.hook.url, { 'content-type': 'application/json', ...d.hook.headers }, d.body, this.o.timeoutMs)
      if (status >= 200 && status < 300) {
        this.results.inc({ result: 'ok' })
        return
      }
      why = `HTTP ${status}`
      // A 4xx other than 408/429 will not get better by retrying.
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) d.attempt = this.o.maxAttempts
    } catch (e) {
      why = e instanceof Error ? e.message : String(e)
    }
    if (d.attempt >= this.o.maxAttempts || this.stopped) {
      this.results.inc({ result: 'failed' })
      this.opts.log('warn', 'webhook delivery failed; giving up', { url: redactUrl(d.hook.url), attempts: d.attempt, error: why })
      return
    }
    this.results.inc({ result: 'retry' })
    const delay = Math.min(this.o.maxBackoffMs, this.o.baseBackoffMs * 2 ** (d.attempt - 1))
    this.opts.clock.after(delay, () => this.enqueue({ ...d, attempt: d.attempt + 1 }))
  }

  stop(): void {
    this.stopped = true
    this.queue = []
  }
}
