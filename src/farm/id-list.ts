/**
 * Endpoint lists for `heck farm --fail` and `--slow`: "3", "0,5,9", "10..19",
 * or a mix ("0..4,7"), optionally followed by ":ARG" (a status or fault for
 * --fail, a delay in ms for --slow). Ranges use ".." because "-" is allowed in ids.
 */

const ID = /^[A-Za-z0-9._-]{1,128}$/
/** Largest range accepted, so a typo cannot allocate millions of ids. */
const MAX_RANGE = 200_000

export function parseIdList(s: string): string[] | { error: string } {
  const ids: string[] = []
  for (const part of s.split(',')) {
    const p = part.trim()
    const r = /^(\d+)\.\.(\d+)$/.exec(p)
    if (r) {
      const a = Number(r[1])
      const b = Number(r[2])
      if (b < a || b - a >= MAX_RANGE) return { error: `bad range "${p}": expected LOW..HIGH with at most ${MAX_RANGE} ids` }
      for (let i = a; i <= b; i++) ids.push(String(i))
    } else if (ID.test(p)) ids.push(p)
    else return { error: `bad endpoint id "${p}": use ids like 7 or ranges like 0..99` }
  }
  return ids
}

/** Splits "LIST:ARG" at its last colon; ARG is undefined when there is none. */
export function splitListArg(s: string): { list: string; arg?: string } {
  const i = s.lastIndexOf(':')
  return i < 0 ? { list: s } : { list: s.slice(0, i), arg: s.slice(i + 1) }
}
