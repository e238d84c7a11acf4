/**
 * The normalised shape of a targets file (SPEC.md "Targets file"). Parsing and
 * validation (targets-file.ts) turn YAML/JSON into these; every later stage
 * (registry, ownership, poller, API) sees only this validated form.
 */

/** How a check reaches its target's server. */
export type ConnectionMode = 'reuse' | 'new'

/**
 * A header value the checking node reads at check time, from its environment or a
 * file (SPEC.md "Secrets"). The reference is what is replicated and shown; the value
 * behind it never leaves the node that checks.
 */
export type SecretRef = { env: string } | { file: string }

/** A header value as written: a literal string, or a reference to one on the checking node. */
export type HeaderValue = string | SecretRef

export interface HttpCheck {
  kind: 'http'
  url: string
  /** Upper-case HTTP method; default GET. */
  method: string
  headers: Record<string, HeaderValue>
  /**
   * Header names (as written; compared case-insensitively) whose literal values reads
   * show as "<redacted>", besides Authorization, Cookie and Proxy-Authorization:
   * `secret_headers` of `defaults` and of the target, merged. Absent when none.
   */
  secretHeaders?: string[]
}

export interface TcpCheck {
  kind: 'tcp'
  host: string
  port: number
}

/**
 * A dead man's switch (SPEC.md "Push heartbeats"): not polled; jobs report with
 * `POST /v1/push/:id` to any node, and the target's owner judges the deadline.
 */
export interface PushCheck {
  kind: 'push'
  /** Unhealthy when no push arrived within this long (ms) of the last one. */
  graceMs: number
  /** A token that allows pushes to this target and nothing else, besides the API's write rule. */
  token?: HeaderValue
}

export interface Expect {
  /** Accepted status codes; empty means any 2xx. */
  status: number[]
  bodyContains?: string
  maxLatencyMs?: number
}

export interface Target {
  /** Unique; [A-Za-z0-9._-], 1-128 chars. */
  id: string
  check: HttpCheck | TcpCheck | PushCheck
  intervalMs: number
  /** Always below intervalMs. */
  timeoutMs: number
  /** Consecutive successes before healthy. */
  rise: number
  /** Consecutive failures before unhealthy. */
  fall: number
  expect: Expect
  /** `reuse` keeps connections alive (cheap, hides connect/TLS failures); `new` opens one per check. */
  connection: ConnectionMode
  /** The target's own labels, carried by its alerts (Alertmanager routing, silences by label). */
  labels?: Record<string, string>
  /** Flap damping (alerts/flap.ts); absent = off. */
  flap?: FlapPolicy
  /** Distinct nodes that must see it fail before it is unhealthy (absent = 1: the owner alone). */
  confirm?: number
}

/** `flap:` of a target or `defaults`: more than `changes` state changes within `withinMs` is flapping; `settleMs` without one ends it. */
export interface FlapPolicy {
  changes: number
  withinMs: number
  settleMs: number
}

export interface Webhook {
  url: string
  headers: Record<string, string>
  /** The body: heck's JSON event (default), or Slack's / Discord's incoming-webhook message. */
  format?: 'json' | 'slack' | 'discord'
}

/** `alertmanager:` in the targets file: where alerts go, with labels added to every one. */
export interface AlertmanagerConfig {
  /** Base URLs; alerts go to `URL/api/v2/alerts` on each. */
  urls: string[]
  labels: Record<string, string>
  /** How often (ms) a firing alert is posted again, as Alertmanager expects of its clients. */
  resendMs: number
}

export interface TargetsFile {
  targets: Target[]
  webhooks: Webhook[]
  alertmanager?: AlertmanagerConfig
}

export type Status = 'healthy' | 'unhealthy' | 'unknown'

/** One check result (SPEC.md "Health model"). */
export interface CheckResult {
  ok: boolean
  latency_ms: number
  status_code?: number
  error?: string
  /** Wall-clock ms since epoch. */
  checked_at: number
  /** Name of the node that ran the check. */
  checker: string
  /** Push targets: when the newest heartbeat the checker knew of arrived (epoch ms). */
  pushed_at?: number
}
