/**
 * Ownership benchmark (issue 3): balance, disruption and speed of three schemes, side
 * by side in one run:
 *  - heck: jump hash into 2^18 fixed slots, rendezvous (HRW) owner list per slot
 *    (src/ownership/table.ts, owners.ts);
 *  - rendezvous: HRW over all members for every target (O(members) per lookup);
 *  - jump-sorted: jump hash over the sorted member list, next owners by index (naive).
 * Plus the hash itself: xxhash-wasm vs Bun.hash.xxHash64 (same values? which is faster?).
 *
 * Run: bun run bench/ownership.ts   (BENCH_QUICK=1 for a smaller, faster run)
 */
import xxhash from 'xxhash-wasm'
import { owners } from '../src/ownership/owners.ts'
import { OwnershipTable } from '../src/ownership/table.ts'
import { jumpHash } from '../src/ownership/jump-hash.ts'
import { fmix32, memberKey, weight } from '../src/ownership/keys.ts'
import { xxhash64 } from '../src/seams/hash.ts'

const QUICK = process.env.BENCH_QUICK === '1'
const BALANCE_IDS = QUICK ? 200_000 : 1_000_000
const DISRUPT_IDS = 100_000
const LOOKUPS = QUICK ? 200_000 : 1_000_000
const K = 3

const now = () => performance.now()
const ids = (n: number, prefix = 'target') => Array.from({ length: n }, (_, i) => `${prefix}-${i}.svc`)
const memberList = (n: number) => Array.from({ length: n }, (_, i) => `node-${String(i).padStart(3, '0')}`)

/** Best of `reps` timings of fn, in ms; the machine is shared, so the minimum is the signal. */
function best(reps: number, fn: () => void): number {
  let min = Infinity
  for (let r = 0; r < reps; r++) {
    const t = now()
    fn()
    min = Math.min(min, now() - t)
  }
  return min
}

const view = new DataView(new ArrayBuffer(8))
function halves(id: string): [number, number] {
  view.setBigUint64(0, xxhash64(id), true)
  return [view.getUint32(0, true), view.getUint32(4, true)]
}

interface Scheme {
  name: string
  /** Prepares for a member set; returns a lookup of the first k owners. */
  prepare(members: string[]): (id: string, k: number) => string[]
}

const heck: Scheme = { name: 'heck (jump→2^18 slots, HRW per slot)', prepare: (members) => (id, k) => owners(id, members, k) }

const rendezvous: Scheme = {
  name: 'rendezvous over all members',
  prepare(members) {
    const keys = members.map(memberKey)
    return (id, k) => {
      const [lo, hi] = halves(id)
      const salt = fmix32(lo ^ fmix32(hi))
      const top: { i: number; w: number }[] = []
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as [number, number]
        const w = weight(salt, key[0], key[1])
        if (top.length === k && w <= (top[k - 1] as { w: number }).w) continue
        top.push({ i, w })
        top.sort((a, b) => b.w - a.w)
        if (top.length > k) top.pop()
      }
      return top.map((e) => members[e.i] as string)
    }
  },
}

const jumpSorted: Scheme = {
  name: 'jump over sorted member list',
  prepare(members) {
    const sorted = [...members].sort()
    return (id, k) => {
      const [lo, hi] = halves(id)
      const first = jumpHash(lo, hi, sorted.length)
      const n = Math.min(k, sorted.length)
      const out = new Array<string>(n)
      for (let i = 0; i < n; i++) out[i] = sorted[(first + i) % sorted.length] as string
      return out
    }
  },
}

const SCHEMES = [heck, rendezvous, jumpSorted]

function balance(scheme: Scheme, members: string[], list: string[]): number {
  const f = scheme.prepare(members)
  const load = new Map(members.map((m) => [m, 0]))
  for (const id of list) {
    const o = f(id, 1)[0] as string
    load.set(o, (load.get(o) as number) + 1)
  }
  return Math.max(...load.values()) / (list.length / members.length)
}

/** Share of targets whose first owner changed, and share that moved between two members present both times. */
function disruption(scheme: Scheme, before: string[], after: string[], list: string[]): { moved: number; between: number } {
  const f = scheme.prepare(before)
  const firstBefore = list.map((id) => f(id, 1)[0] as string)
  const g = scheme.prepare(after)
  const both = new Set(before.filter((m) => after.includes(m)))
  let moved = 0
  let between = 0
  list.forEach((id, i) => {
    const a = firstBefore[i] as string
    const b = g(id, 1)[0] as string
    if (a === b) return
    moved++
    if (both.has(a) && both.has(b)) between++
  })
  return { moved: moved / list.length, between: between / list.length }
}

function lookupsPerSecond(scheme: Scheme, members: string[], list: string[]): number {
  const f = scheme.prepare(members)
  for (const id of list.slice(0, 50_000)) f(id, K) // warm-up
  const n = scheme === rendezvous ? Math.min(list.length, 200_000) : list.length
  const ms = best(5, () => {
    for (let i = 0; i < n; i++) f(list[i] as string, K)
  })
  return n / (ms / 1000)
}

/**
 * Time to recompute the first owner of every target after one change (ms), with target
 * hashes cached in every scheme: heck patches its table (setMembers) and walks its
 * tracked targets (ownershipMap); the others have nothing to patch and redo every target.
 */
function recomputeMs(scheme: Scheme, before: string[], after: string[], list: string[]): number {
  if (scheme === heck) {
    const table = new OwnershipTable()
    table.setMembers(before)
    table.setTargets(list)
    table.ownershipMap()
    let total = Infinity
    for (let r = 0; r < 5; r++) {
      const t = now()
      table.setMembers(after)
      table.ownershipMap()
      total = Math.min(total, now() - t)
      table.setMembers(before)
      table.ownershipMap()
    }
    return total
  }
  const keys = list.map(halves)
  const out = new Array<string>(list.length)
  if (scheme === jumpSorted) {
    return best(3, () => {
      const sorted = [...after].sort()
      keys.forEach(([lo, hi], i) => (out[i] = sorted[jumpHash(lo, hi, sorted.length)] as string))
    })
  }
  return best(2, () => {
    const mk = after.map(memberKey)
    keys.forEach(([lo, hi], i) => {
      const salt = fmix32(lo ^ fmix32(hi))
      let bestW = -1
      let bestM = 0
      for (let m = 0; m < mk.length; m++) {
        const w = weight(salt, (mk[m] as [number, number])[0], (mk[m] as [number, number])[1])
        if (w > bestW) {
          bestW = w
          bestM = m
        }
      }
      out[i] = after[bestM] as string
    })
  })
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`
}

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (c: string[]) => c.map((s, i) => s.padEnd(w[i] as number)).join('  ').trimEnd()
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n')
}

async function hashSection(): Promise<void> {
  const { h64 } = await xxhash()
  const list = ids(200_000)
  let mismatches = 0
  for (const s of [...list.slice(0, 20_000), '', 'abc', 'é日🙂', 'x'.repeat(1000)]) if (h64(s) !== xxhash64(s)) mismatches++
  // Interleaved repetitions, minimum of each: on a shared machine a burst of load
  // should not land on one contender only.
  let wasm = Infinity
  let native = Infinity
  let slot = Infinity
  const table0 = new OwnershipTable()
  for (let r = 0; r < 9; r++) {
    wasm = Math.min(wasm, best(1, () => list.forEach((s) => h64(s))))
    native = Math.min(native, best(1, () => list.forEach((s) => xxhash64(s))))
    slot = Math.min(slot, best(1, () => list.forEach((s) => table0.slotOf(s))))
  }
  console.log('## xxHash64: xxhash-wasm vs Bun.hash.xxHash64 (200,000 ids like "target-N.svc")\n')
  console.log(`values differing on 20,004 inputs: ${mismatches}`)
  console.log(`xxhash-wasm h64:        ${((wasm * 1e6) / list.length).toFixed(0)} ns/hash`)
  console.log(`Bun.hash.xxHash64:      ${((native * 1e6) / list.length).toFixed(0)} ns/hash`)
  console.log(`slotOf (hash + jump):   ${((slot * 1e6) / list.length).toFixed(0)} ns/id\n`)
}

async function run(): Promise<void> {
  console.log(`ownership bench, bun ${Bun.version}, ${QUICK ? 'QUICK' : 'full'} run\n`)
  await hashSection()
  const balanceIds = ids(BALANCE_IDS)
  const disruptIds = ids(DISRUPT_IDS, 'svc')
  const lookupIds = ids(LOOKUPS, 'lk')
  const rows: string[][] = []
  for (const n of [10, 100]) {
    const members = memberList(n)
    const middle = [...members].sort()[Math.floor(n / 2)] as string
    const left = members.filter((m) => m !== middle)
    // The joiner's name sorts into the middle, as a new host's name generally would.
    const joined = [...members, `${middle}b`]
    for (const s of SCHEMES) {
      const bal = balance(s, members, balanceIds)
      const leave = disruption(s, members, left, disruptIds)
      const join = disruption(s, members, joined, disruptIds)
      const lps = n === 100 ? lookupsPerSecond(s, members, lookupIds) : NaN
      const rLeave = n === 100 ? recomputeMs(s, members, left, disruptIds) : NaN
      const rJoin = n === 100 ? recomputeMs(s, members, joined, disruptIds) : NaN
      rows.push([
        s.name,
        String(n),
        bal.toFixed(4),
        `${pct(leave.moved)} (${pct(1 / n)})`,
        pct(leave.between),
        `${pct(join.moved)} (${pct(1 / (n + 1))})`,
        pct(join.between),
        Number.isNaN(lps) ? '-' : `${(lps / 1e6).toFixed(2)}M`,
        Number.isNaN(rLeave) ? '-' : `${rLeave.toFixed(1)} / ${rJoin.toFixed(1)}`,
      ])
      console.error(`done: ${s.name}, ${n} members`)
    }
  }
  console.log(`## Schemes (balance over ${BALANCE_IDS.toLocaleString('en')} ids; disruption over ${DISRUPT_IDS.toLocaleString('en')} ids)\n`)
  console.log(
    table(
      [
        'scheme',
        'members',
        'max/mean',
        'leave: moved (ideal)',
        'leave: between survivors',
        'join: moved (ideal)',
        'join: between old members',
        'owners(id,·,3)/s',
        'recompute 100k, leave / join (ms)',
      ],
      rows,
    ),
  )
  // Cold start: a fresh table and 100,000 targets at 100 members (every slot touched is ranked).
  const members = memberList(100)
  const cold = best(3, () => {
    const t = new OwnershipTable()
    t.setMembers(members)
    t.setTargets(disruptIds)
    t.ownershipMap()
  })
  console.log(`\nheck cold start: new table, 100 members, setTargets + ownershipMap of 100,000 targets: ${cold.toFixed(1)} ms`)
}

await run()
