/**
 * What one notification looks like on the wire for each receiver: heck's own JSON
 * event; Slack's incoming-webhook message (`{"text"}`, also accepted by Mattermost);
 * Discord's (`{"content"}`); and an alert for Alertmanager's `POST /api/v2/alerts`
 * (labels, annotations, startsAt, endsAt once resolved: Alertmanager's API v2 and its
 * client guidance). Pure.
 */

/** One notification about one incident of one target. */
export interface Notification {
  /** `down` when the incident starts, `resolved` when it ends. */
  kind: 'down' | 'resolved'
  /** Stable for the incident, whichever node sends. */
  incident: string
  target: string
  status: 'healthy' | 'unhealthy' | 'unknown'
  previous: 'healthy' | 'unhealthy' | 'unknown'
  /** Wall-clock ms the incident started (down) or ended (resolved). */
  since: number
  /** When the incident started (for resolved notifications too). */
  startedAt: number
  /** The node that sends it (the target's owner). */
  node: string
  error?: string
  url?: string
  /** The nodes that saw the failure (confirmation). */
  confirmedBy?: string[]
  /** The target's own labels. */
  labels?: Record<string, string>
  /** Set when flapping held notifications back: this one says where the target ended. */
  afterFlapping?: boolean
}

export type WebhookFormat = 'json' | 'slack' | 'discord'

export const ALERT_NAME = 'HeckTargetDown'

function sentence(n: Notification): string {
  const what = n.kind === 'down' ? `is DOWN (${n.status})` : `has RECOVERED (${n.status})`
  const why = n.kind === 'down' && n.error ? `: ${n.error}` : ''
  const who = n.confirmedBy && n.confirmedBy.length > 1 ? ` Seen from ${n.confirmedBy.join(', ')}.` : ''
  const flap = n.afterFlapping ? ' (after flapping)' : ''
  return `heck: target ${n.target} ${what}${why}${flap}.${who} Incident ${n.incident}, reported by ${n.node}.`
}

/** The request body of a direct webhook in `format`. */
export function webhookBody(n: Notification, format: WebhookFormat): string {
  switch (format) {
    case 'slack':
      return JSON.stringify({ text: sentence(n) })
    case 'discord':
      return JSON.stringify({ content: sentence(n).slice(0, 2000) })
    default:
      // heck's own event: the type and fields of earlier releases, plus the incident's.
      return JSON.stringify({ type: 'health', ...n })
  }
}

/** One alert for Alertmanager's API v2; `extraLabels` come from the targets file's `alertmanager.labels`. */
export function alertmanagerAlert(n: Notification, extraLabels: Record<string, string>, nowMs: number, generatorURL?: string): Record<string, unknown> {
  return {
    labels: { ...n.labels, ...extraLabels, alertname: ALERT_NAME, target: n.target },
    annotations: {
      summary: `target ${n.target} is ${n.kind === 'down' ? 'down' : 'back up'}`,
      ...(n.error ? { error: n.error } : {}),
      ...(n.confirmedBy && n.confirmedBy.length > 0 ? { confirmed_by: n.confirmedBy.join(', ') } : {}),
      incident: n.incident,
      reported_by: n.node,
    },
    startsAt: new Date(n.startedAt).toISOString(),
    // Resolved: ended now. Firing: no endsAt; Alertmanager keeps it while it is re-sent.
    ...(n.kind === 'resolved' ? { endsAt: new Date(Math.max(n.since, nowMs)).toISOString() } : {}),
    ...(generatorURL ? { generatorURL } : {}),
  }
}
