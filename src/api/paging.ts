/**
 * Pages of `GET /v1/health` (`?limit=N&after=ID`): targets in id order, `after` the
 * last id of the previous page, as keyset pagination works (Stripe's and Kubernetes'
 * list APIs, `starting_after` and `continue`). A cursor that is an id, not an offset,
 * stays right while targets are added and removed between pages: none is skipped or
 * repeated except one added or removed meanwhile. Without either parameter the answer
 * is the whole list, as before.
 */
import type { TargetHealth } from '../node/types.ts'

/** Largest page: 100,000 targets fit, about 30 MB of JSON; a client pages beyond that. */
export const MAX_PAGE = 100_000

export interface PageQuery {
  limit: number
  after?: string
}

/** The paging parameters; undefined when none is given; a string says what is wrong. */
export function pageQuery(limit: string | undefined, after: string | undefined): PageQuery | undefined | string {
  if (limit === undefined && after === undefined) return undefined
  const n = limit === undefined ? MAX_PAGE : Number(limit)
  if (!/^\d+$/.test(limit ?? '1') || !Number.isInteger(n) || n < 1 || n > MAX_PAGE) return `bad limit: give a whole number from 1 to ${MAX_PAGE}`
  if (after === '') return 'bad after: give the "next" of the previous page, or leave it out for the first page'
  return { limit: n, after }
}

/** One page, with `next` (the `after` of the following page) while more remain, and the total. */
export function paginate(all: TargetHealth[], q: PageQuery): { total: number; targets: TargetHealth[]; next?: string } {
  const sorted = all.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  let start = 0
  if (q.after !== undefined) {
    // First id above the cursor (binary search).
    let lo = 0
    let hi = sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((sorted[mid] as TargetHealth).id <= q.after) lo = mid + 1
      else hi = mid
    }
    start = lo
  }
  const targets = sorted.slice(start, start + q.limit)
  const more = start + q.limit < sorted.length
  return { total: sorted.length, targets, ...(more && targets.length > 0 ? { next: (targets[targets.length - 1] as TargetHealth).id } : {}) }
}
