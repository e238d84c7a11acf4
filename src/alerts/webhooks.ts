/**
 * Delivery of notifications (issue 14): each one to every direct webhook (heck's
 * JSON, Slack's or Discord's body, per `format`) and, as an alert, to every
 * Alertmanager (`POST URL/api/v2/alerts`, its API v2). What to send and when is
 * node/notifier.ts's: it gives one notification per incident, from the owner only.
 * Failed requests are retried with exponential backoff, a bounded number of times;
 * at most a few are in flight, so a burst does not open hundreds of connections.
 */
import type { AlertmanagerConfig, Webhook } from '../config/types.ts'
import { alertmanagerAlert, webhookBody, type Notification } from './payloads.ts'
import type { Clock } from '../seams/clock.ts'
import type { Logger } from '../seams/log.ts'
import { redactUrl } from '../config/secrets.ts'
import type { Counter, Registry } from '../metrics/registry.ts'

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
  /** Requests in flight at once, across receivers. Default 8. */
  maxInFlight?: number
}


export class WebhookDispatcher {
  private hooks: Webhook[] = []
  private alertmanager: AlertmanagerConfig | undefined
  private inFlight = 0
  private readonly waiting: Array<() => void> = []
  private stopped = false
  private readonly results: Counter
  private readonly o: Required<Omit<WebhookOptions, 'clock' | 'post' | 'log' | 'metrics'>>

  constructor(private readonly opts: WebhookOptions) {
    this.o = {
      maxAttempts: opts.maxAttempts ?? 6,
      baseBackoffMs: opts.baseBackoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      timeoutMs: opts.timeoutMs ?? 5000,
      maxInFlight: opts.maxInFlight ?? 8,
    }
    this.results = opts.metrics.counter('heck_webhook_deliveries_total', 'Notification requests (webhooks and Alertmanager) by result: ok, retry, failed')
    for (const result of ['ok', 'retry', 'failed']) this.results.inc({ result }, 0)
  }

  setHooks(hooks: Webhook[], alertmanager?: AlertmanagerConfig): void {
    this.hooks = hooks
    this.alertmanager = alertmanager
  }

  hasReceivers(): boolean {
    return this.hooks.length > 0 || (this.alertmanager?.urls.length ?? 0) > 0
  }

  /** How often (ms) a firing alert is posted to Alertmanager again; undefined without one. */
  resendMs(): number | undefined {
    return this.alertmanager && this.alertmanager.urls.length > 0 ? this.alertmanager.resendMs : undefined
  }

  /** Sends `n` to every receiver; resolves true when every one took it, false when some gave up. */
  async notify(n: Notification): Promise<boolean> {
    const sends = this.hooks.map((h) => this.send(h.url, h.headers, webhookBody(n, h.format ?? 'json')))
    sends.push(this.toAlertmanager(n))
    return (await Promise.all(sends)).every(Boolean)
  }

  /** Posts a firing alert to Alertmanager again (its clients re-send while an alert lasts). */
  resend(n: Notification): Promise<boolean> {
    return this.toAlertmanager(n)
  }

  private async toAlertmanager(n: Notification): Promise<boolean> {
    const am = this.alertmanager
    if (!am || am.urls.length === 0) return true
    const alert = alertmanagerAlert(n, am.labels, this.opts.clock.now())
    // A firing alert ends by itself if heck stops re-sending it (a node gone for good).
    if (n.kind === 'down') alert.endsAt = new Date(this.opts.clock.now() + 4 * am.resendMs).toISOString()
    const body = JSON.stringify([alert])
    return (await Promise.all(am.urls.map((u) => this.send(`${u}/api/v2/alerts`, {}, body)))).every(Boolean)
  }

  private async slot(): Promise<void> {
    while (this.inFlight >= this.o.maxInFlight) await new Promise<void>((r) => this.waiting.push(r))
    this.inFlight++
  }

  private release(): void {
    this.inFlight--
    this.waiting.shift()?.()
  }

  /** One request, retried with backoff up to maxAttempts; true once a 2xx came back. */
  private async send(url: string, headers: Record<string, string>, body: string): Promise<boolean> {
    for (let attempt = 1; !this.stopped; attempt++) {
      let why: string
      let retry = true
      await this.slot()
      try {
        const status = await this.opts.post(url, { 'content-type': 'application/json', ...headers }, body, this.o.timeoutMs)
        if (status >= 200 && status < 300) {
          this.results.inc({ result: 'ok' })
          return true
        }
        why = `HTTP ${status}`
        // A 4xx other than 408/429 will not get better by retrying.
        if (status >= 400 && status < 500 && status !== 408 && status !== 429) retry = false
      } catch (e) {
        why = e instanceof Error ? e.message : String(e)
      } finally {
        this.release()
      }
      if (!retry || attempt >= this.o.maxAttempts) {
        this.results.inc({ result: 'failed' })
        this.opts.log('warn', 'notification delivery failed; giving up', { url: redactUrl(url), attempts: attempt, error: why })
        return false
      }
      this.results.inc({ result: 'retry' })
      const delay = Math.min(this.o.maxBackoffMs, this.o.baseBackoffMs * 2 ** (attempt - 1))
      await new Promise<void>((r) => this.opts.clock.after(delay, r))
    }
    return false
  }

  stop(): void {
    this.stopped = true
    for (const w of this.waiting.splice(0)) w()
  }
}
