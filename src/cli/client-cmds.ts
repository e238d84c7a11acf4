/**
 * Client commands that ask a running agent over its HTTP API: `heck members`,
 * `heck status`, `heck owners` and `heck history`. They print a table for people or, with
 * --json, the API's own answer for scripts (as the API redacts it: SPEC.md
 * "Secrets"). `--token` or HECK_TOKEN is sent as a bearer token, for agents
 * that run with --api-read-token.
 */
import { apiBase, clientToken, parseFlags } from './args.ts'
import { ago, healthSummary, healthTable, renderTable } from './table.ts'
import type { MemberView, TargetDetail, TargetHealth } from '../node/types.ts'
import { UsageError } from './errors.ts'

async function getJson(base: string, path: string, token: string | undefined): Promise<Record<string, unknown>> {
  let res: Response
  try {
    res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000), headers: token ? { authorization: `Bearer ${token}` } : {} })
  } catch (e) {
    throw new Error(`cannot reach the agent at ${base} (${e instanceof Error ? e.message : String(e)}); is it running? pass --http ADDR`)
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>
  if (res.status === 401) {
    const how = token ? 'the token was refused; check --token or HECK_TOKEN' : 'pass --token TOKEN or set HECK_TOKEN'
    throw new Error(`${base}${path} answered 401: ${String(body.error ?? 'unauthorized')}; ${how} (the agent's --api-read-token or --api-token)`)
  }
  if (!res.ok) throw new Error(`${base}${path} answered ${res.status}: ${String(body.error ?? res.statusText)}`)
  return body
}

const footer = (body: Record<string, unknown>, now: number) => {
  const age = body.data_age_ms
  return `(answered by ${String(body.node)}; newest data ${typeof age === 'number' ? ago(now - age, now) : 'none yet'})`
}

export async function membersCommand(args: string[]): Promise<number> {
  const { values } = parseFlags('members', args, { http: { type: 'string' }, json: { type: 'boolean' }, token: { type: 'string' } })
  const body = await getJson(apiBase(values.http), '/v1/members', clientToken(values.token))
  if (values.json) {
    console.log(JSON.stringify(body, null, 2))
    return 0
  }
  const members = (body.members ?? []) as MemberView[]
  const rows = members.map((m) => [m.name, m.addr, m.state, String(m.incarnation), String(m.owned)])
  console.log(renderTable(['NAME', 'ADDR', 'STATE', 'INCARNATION', 'OWNED'], rows))
  console.log(footer(body, Date.now()))
  return 0
}

/** Page size for `heck status`: the answer for 100,000 targets comes in 20 bounded requests. */
const STATUS_PAGE = 5000

/**
 * Every target's health, a page at a time (SPEC.md "GET /v1/health" paging); the first
 * page's meta (node, data age) is kept. An agent from before paging answers everything at
 * once, without `next`, which ends the loop the same way.
 */
export async function allHealth(base: string, filter: string, token: string | undefined, pageSize = STATUS_PAGE): Promise<Record<string, unknown>> {
  const first = await getJson(base, `/v1/health?${filter}limit=${pageSize}`, token)
  const targets = [...((first.targets ?? []) as TargetHealth[])]
  let next = first.next as string | undefined
  for (let pages = 1; next !== undefined && pages < 1000; pages++) {
    const page = await getJson(base, `/v1/health?${filter}limit=${pageSize}&after=${encodeURIComponent(next)}`, token)
    targets.push(...((page.targets ?? []) as TargetHealth[]))
    next = page.next as string | undefined
  }
  const { next: _n, total: _t, ...meta } = first
  return { ...meta, targets }
}

export async function statusCommand(args: string[]): Promise<number> {
  const { values } = parseFlags('status', args, {
    http: { type: 'string' },
    json: { type: 'boolean' },
    unhealthy: { type: 'boolean' },
    token: { type: 'string' },
  })
  const body = await allHealth(apiBase(values.http), values.unhealthy ? 'status=unhealthy&' : '', clientToken(values.token))
  if (values.json) {
    console.log(JSON.stringify(body, null, 2))
    return 0
  }
  const now = Date.now()
  const targets = ((body.targets ?? []) as TargetHealth[]).sort((a, b) => a.id.localeCompare(b.id))
  console.log(healthTable(targets, now))
  console.log(values.unhealthy ? `${targets.length} unhealthy ${footer(body, now)}` : `${healthSummary(targets)} ${footer(body, now)}`)
  return 0
}

export async function ownersCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags('owners', args, { http: { type: 'string' }, json: { type: 'boolean' }, token: { type: 'string' } }, true)
  const id = positionals[0]
  if (!id || positionals.length > 1) throw new UsageError('usage: heck owners TARGET_ID [--http ADDR] [--token TOKEN]')
  const body = await getJson(apiBase(values.http), `/v1/ownership?target=${encodeURIComponent(id)}`, clientToken(values.token))
  if (values.json) {
    console.log(JSON.stringify(body, null, 2))
    return 0
  }
  const owners = (body.owners ?? []) as string[]
  console.log(renderTable(['PRIORITY', 'NODE'], owners.map((o, i) => [String(i + 1), o])))
  console.log(footer(body, Date.now()))
  return 0
}

const pct = (r: number | null | undefined) => (r === null || r === undefined ? '-' : `${(r * 100).toFixed(r === 1 ? 0 : 2)}%`)

/** `heck history ID`: a target's whole story, from whichever node is asked (GET /v1/targets/:id). */
export async function historyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags('history', args, { http: { type: 'string' }, json: { type: 'boolean' }, token: { type: 'string' } }, true)
  const id = positionals[0]
  if (!id || positionals.length > 1) throw new UsageError('usage: heck history TARGET_ID [--http ADDR] [--json] [--token TOKEN]')
  const body = await getJson(apiBase(values.http), `/v1/targets/${encodeURIComponent(id)}`, clientToken(values.token))
  if (values.json) {
    console.log(JSON.stringify(body, null, 2))
    return 0
  }
  const now = Date.now()
  const t = body.target as TargetDetail
  console.log(`${t.id}: ${t.status} since ${ago(t.since, now)}, checked by ${t.owner ?? '-'} (owners ${t.owners.join(', ')})`)
  console.log(`uptime: 1h ${pct(t.uptime?.h1)}  24h ${pct(t.uptime?.h24)}  7d ${pct(t.uptime?.d7)}${t.uptime ? '' : '  (no history: agents run without --data-dir)'}`)
  console.log('\nstate changes (newest first):')
  console.log(t.transitions.length === 0 ? '  none recorded' : renderTable(['WHEN', 'FROM', 'TO'], t.transitions.map((x) => [ago(x.at, now), x.from, x.to])))
  console.log('\nrecent results (newest last):')
  const recent = t.recent.slice(-10)
  console.log(recent.length === 0 ? '  none' : renderTable(['WHEN', 'RESULT', 'LATENCY', 'CHECKER', 'ERROR'], recent.map((r) => [ago(r.checked_at, now), r.ok ? 'ok' : 'FAIL', `${r.latency_ms} ms`, r.checker, r.error ?? ''])))
  if (t.partial) console.log(`\npartial answer:\n${(t.partial_reasons ?? []).map((r) => `  - ${r}`).join('\n')}`)
  if (t.history === 'unavailable') console.log(`\nhistory unavailable on ${String(body.node)}: ${t.history_error ?? ''}`)
  console.log(footer(body, now))
  return 0
}
