/**
 * One notification per incident, whatever happens to the nodes (issue 14). An incident
 * (alerts/incident.ts) lives in the target's replicated health record with what has
 * been sent for it. Only the node that checks the target sends, and only what the
 * record says is owed: "down" once, "resolved" once. After a delivery it writes the
 * mark into the record under its ownership term, so a node that takes over (the owner
 * SIGKILLed, restarted, or a rebalance) sends only what is still owed. The one window
 * left is a crash between a delivery and its mark reaching the others: the next owner
 * sends that notification again (and Alertmanager, keyed by labels, folds the two).
 * In a partition each side has an owner, and each may notify once (SPEC.md "Alerts").
 *
 * Alertmanager expects its clients to re-send a firing alert while it lasts; the owner
 * does so every `resend` (alertmanager.resend in the targets file).
 */
import { markSent, owed } from '../alerts/incident.ts'
import { asSilence, silences, type Silence } from '../alerts/silence.ts'
import type { Notification } from '../alerts/payloads.ts'
import { redactUrl } from '../config/secrets.ts'
import type { Registry } from '../metrics/registry.ts'
import type { Clock } from '../seams/clock.ts'
import type { Logger } from '../seams/log.ts'
import type { HealthRecord, StateStore } from './state-store.ts'

/** What delivers notifications (alerts/webhooks.ts WebhookDispatcher). */
export interface NotificationSink {
  hasReceivers(): boolean
  notify(n: Notification): Promise<boolean>
  resend(n: Notification): Promise<boolean>
  resendMs(): number | undefined
}

export interface NotifierOptions {
  self: string
  clock: Clock
  log: Logger
  metrics: Registry
  state: StateStore
  sink: NotificationSink
  /** The term this node writes a target under while it checks it; undefined otherwise. */
  termOf(id: string): number | undefined
  /** The targets this node checks now. */
  owned(): Iterable<string>
  /** How often (ms) owned targets are looked at for what is owed (after a takeover, a failed delivery). Default 2000. */
  sweepMs?: number
}

export class Notifier {
  private readonly inFlight = new Set<string>()
  /** Notifications this node delivered (incident:kind), to spot one another node delivered too (a partition). */
  private readonly mine = new Map<string, number>()
  private readonly counted = new Set<string>()
  private readonly duplicates
  private readonly lastResend = new Map<string, number>()
  private cancel?: () => void
  private stopped = false
  private readonly sent

  constructor(private readonly o: NotifierOptions) {
    this.sent = o.metrics.counter('heck_notifications_total', 'Notifications sent by this node, by kind (down, resolved) and result (ok, failed)')
    for (const kind of ['down', 'resolved']) for (const result of ['ok', 'failed']) this.sent.inc({ kind, result }, 0)
    this.duplicates = o.metrics.counter('heck_notifications_duplicate_total', 'Notifications this node sent that another node sent too for the same incident (seen when their records met: a partition, or a crash between delivery and mark)')
    for (const kind of ['down', 'resolved']) this.duplicates.inc({ kind }, 0)
    this.schedule()
  }

  private schedule(): void {
    if (this.stopped) return
    this.cancel = this.o.clock.after(this.o.sweepMs ?? 2000, () => {
      this.sweep()
      this.schedule()
    })
  }

  /** Looks at every target this node checks: sends what is owed, re-sends firing alerts when due; removes expired silences. */
  sweep(): void {
    this.expireSilences()
    if (!this.o.sink.hasReceivers()) return
    for (const id of this.o.owned()) this.consider(id)
  }

  /** Silences in force now. */
  activeSilences(): Silence[] {
    const now = this.o.clock.now()
    return [...this.o.state.records('silence').values()].flatMap((v) => {
      const s = asSilence(v)
      return s && s.until > now ? [s] : []
    })
  }

  private silenced(id: string): boolean {
    const t = this.o.state.target(id)
    if (!t) return false
    const now = this.o.clock.now()
    return this.activeSilences().some((s) => silences(s, t, now))
  }

  /** An expired silence removes itself: every node deletes the ones it sees expired (deletes are idempotent). */
  private expireSilences(): void {
    const now = this.o.clock.now()
    for (const [key, v] of this.o.state.records('silence')) {
      const s = asSilence(v)
      if (!s || s.until <= now) void this.o.state.putRecord('silence', key, null).catch(() => {})
    }
  }

  /** A target's record changed (anywhere): if this node checks it, send what is owed. */
  consider(id: string): void {
    this.spotDuplicate(id)
    if (this.stopped || this.o.termOf(id) === undefined || !this.o.sink.hasReceivers()) return
    const rec = this.o.state.health(id)
    const inc = rec?.incident
    if (!rec || !inc) return
    // Flapping holds notifications until it settles (alerts/flap.ts); a silence, while it lasts.
    const kind = owed(inc, rec.flap?.since !== undefined || this.silenced(id))
    if (kind) {
      const key = `${inc.id}:${kind}`
      if (this.inFlight.has(key)) return
      // This node sent it already, and a record without the mark won meanwhile (a partition
      // healing, a delta overtaken by an older one): put the mark back rather than send again.
      const myMark = this.mine.get(key)
      const term = this.o.termOf(id)
      if (myMark !== undefined && term !== undefined) {
        this.o.state.observe({ ...rec, owner: this.o.self, term, incident: markSent(inc, kind, this.o.self, myMark) })
        return
      }
      this.inFlight.add(key)
      void this.deliver(rec, kind).finally(() => this.inFlight.delete(key))
      return
    }
    // Firing and already announced: keep Alertmanager's copy alive (it has silences of its own).
    const every = this.o.sink.resendMs()
    if (every === undefined || inc.endedAt !== undefined || inc.sentDown === undefined) return
    const now = this.o.clock.now()
    const last = this.lastResend.get(inc.id) ?? inc.sentDown
    if (now - last < every) return
    this.lastResend.set(inc.id, now)
    void this.o.sink.resend(this.notification(rec, 'down'))
  }

  /** A record that says another node sent what this node also sent: counted once per notification on each node that sent it. */
  private spotDuplicate(id: string): void {
    const inc = this.o.state.health(id)?.incident
    if (!inc || this.mine.size === 0) return
    for (const kind of ['down', 'resolved'] as const) {
      const key = `${inc.id}:${kind}`
      const myMark = this.mine.get(key)
      if (myMark === undefined || this.counted.has(key)) continue
      const mark = kind === 'down' ? inc.sentDown : inc.sentResolved
      // sentBy names the sender of the latest mark: resolved's once there is one, else down's.
      const sender = (kind === 'resolved') === (inc.sentResolved !== undefined) ? inc.sentBy : undefined
      if (mark !== undefined && (mark !== myMark || (sender !== undefined && sender !== this.o.self))) {
        this.counted.add(key)
        this.duplicates.inc({ kind })
        this.o.log('warn', 'another node also sent this notification (a partition, or a crash before the mark reached it)', { target: id, incident: inc.id, kind })
      }
    }
  }

  private notification(rec: HealthRecord, kind: 'down' | 'resolved'): Notification {
    const inc = rec.incident!
    const t = this.o.state.target(rec.id)
    const url = t?.check.kind === 'http' ? redactUrl(t.check.url) : undefined
    return {
      kind,
      incident: inc.id,
      target: rec.id,
      status: kind === 'down' ? 'unhealthy' : 'healthy',
      previous: kind === 'down' ? 'healthy' : 'unhealthy',
      since: kind === 'down' ? inc.startedAt : (inc.endedAt ?? this.o.clock.now()),
      startedAt: inc.startedAt,
      node: this.o.self,
      ...(inc.error ? { error: inc.error } : {}),
      ...(url ? { url } : {}),
      ...(inc.confirmedBy ? { confirmedBy: inc.confirmedBy } : {}),
      ...(t?.labels ? { labels: t.labels } : {}),
    }
  }

  private async deliver(rec: HealthRecord, kind: 'down' | 'resolved'): Promise<void> {
    const incident = rec.incident!.id
    const ok = await this.o.sink.notify(this.notification(rec, kind))
    this.sent.inc({ kind, result: ok ? 'ok' : 'failed' })
    if (!ok) this.o.log('warn', 'notification not delivered to every receiver; marked sent so it is not repeated', { target: rec.id, incident, kind })
    // The mark goes into the record as it is now, under this node's term, if it still checks it.
    const now = this.o.state.health(rec.id)
    const term = this.o.termOf(rec.id)
    if (!now?.incident || now.incident.id !== incident || term === undefined) return
    const at = this.o.clock.now()
    this.mine.set(`${incident}:${kind}`, at)
    if (this.mine.size > 10_000) {
      const oldest = this.mine.keys().next().value as string
      this.mine.delete(oldest)
      this.counted.delete(oldest)
    }
    this.o.state.observe({ ...now, owner: this.o.self, term, incident: markSent(now.incident, kind, this.o.self, at) })
    if (kind === 'resolved') this.lastResend.delete(incident)
  }

  stop(): void {
    this.stopped = true
    this.cancel?.()
  }
}
