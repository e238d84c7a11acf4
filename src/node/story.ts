/**
 * A target's whole story from any node. Its recent results live in the memory of the
 * node that checks it; its transitions and check counts in the history of whichever
 * node checked it at the time. So the node asked collects every live member's own part
 * (`GET /v1/targets/:id/part` through the injected `askPeer`), in parallel and with a
 * bounded timeout, and merges them: the checker's recent results, every node's
 * transitions, the uptime windows' check counts added up. This costs nothing in gossip
 * and no memory at rest; a query costs one small request per member (what forwarding to
 * the owner costs, widened to the past owners). A member that does not answer makes the
 * answer `partial`, with the reason, never a hang.
 */
import type { CheckResult } from '../config/types.ts'
import { ratioOf, type Counts, type Transition, type WindowCounts } from '../history/history.ts'
import type { MemberView, TargetDetail } from './types.ts'

/** What one node knows of a target's story: what it checked itself. */
export interface HistoryPart {
  node: string
  /** Its ring of recent results (only the checker's is current). */
  recent: CheckResult[]
  /** Transitions it recorded as the checker, newest first. */
  transitions: Transition[]
  /** Checks it recorded per uptime window; absent without a data dir. */
  counts?: WindowCounts
  /** Its history could not be read; why. */
  error?: string
}

/** Asks `member` (at its HTTP address) for its part of `id`'s story; rejects on failure or timeout. */
export type AskPeer = (member: MemberView, id: string) => Promise<HistoryPart>

/** Transitions kept in an answer. */
export const STORY_TRANSITIONS = 20

const add = (a: Counts, b: Counts): Counts => ({ checks: a.checks + b.checks, failures: a.failures + b.failures })

/**
 * Merges parts into the detail `local` (this node's own answer): the checker's recent
 * results, transitions of every part (one per change: two nodes that both checked during
 * a hand-over may have recorded the same change), and uptime from the summed counts.
 */
export function mergeStory(local: TargetDetail, parts: HistoryPart[], checker: string | null): TargetDetail {
  const fromChecker = parts.find((p) => p.node === checker)
  const recent = fromChecker ? fromChecker.recent : local.recent
  const seen = new Set<string>()
  const transitions: Transition[] = []
  for (const t of parts.flatMap((p) => p.transitions).sort((a, b) => b.at - a.at)) {
    // The same change seen by two checkers within a second of each other is one change.
    const key = `${t.from}>${t.to}@${Math.floor(t.at / 1000)}`
    if (seen.has(key)) continue
    seen.add(key)
    transitions.push(t)
    if (transitions.length >= STORY_TRANSITIONS) break
  }
  const withCounts = parts.filter((p) => p.counts)
  const zero = { checks: 0, failures: 0 }
  const total = withCounts.reduce<WindowCounts>(
    (acc, p) => ({ h1: add(acc.h1, p.counts!.h1), h24: add(acc.h24, p.counts!.h24), d7: add(acc.d7, p.counts!.d7) }),
    { h1: zero, h24: zero, d7: zero },
  )
  const uptime = withCounts.length > 0 ? { h1: ratioOf(total.h1), h24: ratioOf(total.h24), d7: ratioOf(total.d7) } : local.uptime
  return { ...local, recent, transitions, ...(uptime ? { uptime } : {}) }
}

/**
 * The whole story of `local`'s target: this node's part plus every live member's. Members
 * that fail or take longer than the asker's timeout are named in `partial_reasons`.
 */
export async function tellStory(local: TargetDetail, own: HistoryPart, members: MemberView[], self: string, ask: AskPeer): Promise<TargetDetail> {
  const others = members.filter((m) => m.name !== self && (m.state === 'alive' || m.state === 'suspect'))
  const reasons: string[] = []
  const answers = await Promise.all(
    others.map((m) =>
      ask(m, local.id).then(
        (p) => p,
        (e: unknown) => {
          reasons.push(`${m.name}: ${e instanceof Error ? e.message : String(e)}`)
          return undefined
        },
      ),
    ),
  )
  const parts = [own, ...answers.filter((p): p is HistoryPart => p !== undefined)]
  for (const p of parts) if (p.error) reasons.push(`${p.node}: history unavailable (${p.error})`)
  const story = mergeStory(local, parts, local.owner)
  if (local.owner && local.owner !== self && !answers.some((p) => p?.node === local.owner)) {
    reasons.unshift(`the checker ${local.owner} did not answer: recent results are this node's own`)
  }
  return reasons.length > 0 ? { ...story, partial: true, partial_reasons: reasons.sort() } : story
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isCounts = (v: unknown): v is Counts => isObj(v) && typeof v.checks === 'number' && typeof v.failures === 'number'

/** A part from a peer, checked for shape (a peer running other code must not break this one). */
export function asHistoryPart(v: unknown, from: string): HistoryPart {
  if (!isObj(v) || typeof v.node !== 'string' || !Array.isArray(v.recent) || !Array.isArray(v.transitions)) throw new Error(`${from} sent no history part`)
  const c = v.counts
  if (c !== undefined && !(isObj(c) && isCounts(c.h1) && isCounts(c.h24) && isCounts(c.d7))) throw new Error(`${from} sent malformed counts`)
  const okT = (t: unknown) => isObj(t) && typeof t.at === 'number' && typeof t.from === 'string' && typeof t.to === 'string'
  const okR = (r: unknown) => isObj(r) && typeof r.ok === 'boolean' && typeof r.checked_at === 'number'
  return {
    node: v.node,
    recent: (v.recent as unknown[]).filter(okR).slice(0, 1000) as CheckResult[],
    transitions: (v.transitions as unknown[]).filter(okT).slice(0, STORY_TRANSITIONS) as Transition[],
    ...(c !== undefined ? { counts: c as unknown as WindowCounts } : {}),
    ...(typeof v.error === 'string' ? { error: v.error } : {}),
  }
}
