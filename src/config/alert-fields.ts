/**
 * The alerting parts of a targets file (SPEC.md "Alerts"): a target's `labels:`,
 * a webhook's `format:` and the `alertmanager:` section. Label names follow
 * Prometheus' rules, as Alertmanager takes them.
 */
import type { Add } from './header-fields.ts'
import { parseDuration } from './duration.ts'
import type { AlertmanagerConfig, FlapPolicy } from './types.ts'

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
/** Labels heck sets itself on every alert. */
const RESERVED = new Set(['alertname', 'target'])
export const WEBHOOK_FORMATS = ['json', 'slack', 'discord'] as const

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A map of label name → value; undefined (with problems added) when it is not one. */
export function labelsField(add: Add, where: string, v: unknown): Record<string, string> | undefined {
  if (v === undefined) return undefined
  if (!isObj(v)) {
    add(where, `must be a map of label name to value, e.g. {team: web, severity: page}, got ${JSON.stringify(v)}`)
    return undefined
  }
  const out: Record<string, string> = {}
  for (const [k, val] of Object.entries(v)) {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) add(where, `"${k}" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`)
    else if (RESERVED.has(k)) add(`${where}.${k}`, 'is set by heck itself (alertname, target)')
    else if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean') add(`${where}.${k}`, 'must be a string')
    else out[k] = String(val)
  }
  return out
}

export function webhookFormat(add: Add, where: string, v: unknown): (typeof WEBHOOK_FORMATS)[number] {
  if (v === undefined) return 'json'
  if (typeof v === 'string' && (WEBHOOK_FORMATS as readonly string[]).includes(v)) return v as (typeof WEBHOOK_FORMATS)[number]
  add(`${where}.format`, `must be json (heck's event), slack (also Mattermost) or discord, got ${JSON.stringify(v)}`)
  return 'json'
}

/** `alertmanager: {urls, labels, resend}`. */
export function alertmanagerField(add: Add, where: string, v: unknown): AlertmanagerConfig | undefined {
  if (v === undefined) return undefined
  if (!isObj(v)) {
    add(where, 'must be a map with "urls" (Alertmanager base URLs) and optionally "labels" and "resend"')
    return undefined
  }
  for (const k of Object.keys(v)) if (!['urls', 'labels', 'resend'].includes(k)) add(where, `unknown field "${k}" (allowed: urls, labels, resend)`)
  const list = typeof v.urls === 'string' ? [v.urls] : v.urls
  const urls: string[] = []
  if (!Array.isArray(list) || list.length === 0) add(`${where}.urls`, 'must list at least one Alertmanager URL, e.g. [http://alertmanager:9093]')
  else {
    for (const u of list) {
      let url: URL | undefined
      try {
        url = typeof u === 'string' ? new URL(u) : undefined
      } catch {}
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) add(`${where}.urls`, `must be absolute http:// or https:// URLs, got ${JSON.stringify(u)}`)
      else urls.push(url.href.replace(/\/+$/, ''))
    }
  }
  const labels = labelsField(add, `${where}.labels`, v.labels) ?? {}
  let resendMs = 60_000
  if (v.resend !== undefined) {
    const d = parseDuration(v.resend)
    if (typeof d !== 'number') add(`${where}.resend`, d.error)
    else if (d < 1000 || d > 3_600_000) add(`${where}.resend`, `must be from 1s to 1h, got ${JSON.stringify(v.resend)}`)
    else resendMs = d
  }
  return { urls, labels, resendMs }
}

/** `flap: {changes, within, settle}`: damping of a target whose state keeps changing (alerts/flap.ts). */
export function flapField(add: Add, where: string, v: unknown): FlapPolicy | undefined {
  if (v === undefined) return undefined
  const at = `${where}.flap`
  if (!isObj(v)) {
    add(at, 'must be a map like {changes: 4, within: 10m, settle: 5m}')
    return undefined
  }
  for (const k of Object.keys(v)) if (!['changes', 'within', 'settle'].includes(k)) add(at, `unknown field "${k}" (allowed: changes, within, settle)`)
  const changes = v.changes
  if (typeof changes !== 'number' || !Number.isInteger(changes) || changes < 0 || changes > 100) {
    add(`${at}.changes`, `must be a whole number from 0 (off) to 100, got ${JSON.stringify(changes)}`)
    return undefined
  }
  const dur = (k: 'within' | 'settle', dflt: number): number | undefined => {
    if (v[k] === undefined) return dflt
    const d = parseDuration(v[k])
    if (typeof d !== 'number') add(`${at}.${k}`, d.error)
    else if (d > 24 * 3_600_000) add(`${at}.${k}`, 'must be at most 24h')
    else return d
    return undefined
  }
  const withinMs = dur('within', 600_000)
  const settleMs = dur('settle', 300_000)
  if (withinMs === undefined || settleMs === undefined) return undefined
  return { changes, withinMs, settleMs }
}
