/**
 * Reads a `.cpuprofile` written by `bun --cpu-prof` and prints where the samples
 * fell, by sample count. Bun's markdown profile (`--cpu-prof-md`) weighs each
 * sample by the time since the previous one, so time the thread spent idle (an
 * agent mostly waits) lands on whatever ran next (`fetch`, `edenGC`); counting
 * samples instead shows what the JS thread actually did.
 *
 *   bun bench/lib/cpu-profile.ts FILE.cpuprofile [TOP=40] [--by=file|fn]
 *
 * Self: samples whose top frame is in the function (or file). Total: samples with
 * the function (or file) anywhere on the stack, counted once per sample.
 */
import { readFileSync } from 'node:fs'

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[] }

const file = process.argv[2]
if (!file) {
  process.stderr.write('usage: bun bench/lib/cpu-profile.ts FILE.cpuprofile [TOP] [--by=file|fn]\n')
  process.exit(2)
}
const top = Number(process.argv.find((a, i) => i > 2 && /^\d+$/.test(a)) ?? 40)
const by = process.argv.find((a) => a.startsWith('--by='))?.slice(5) ?? 'fn'
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(p.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const short = (url: string) => url.replace(/^.*\/work\/main\//, '').replace(/^.*node_modules\//, 'nm/') || '[native]'
const key = (n: Node) => (by === 'file' ? short(n.callFrame.url) : `${n.callFrame.functionName || '(anonymous)'}  ${short(n.callFrame.url)}`)

const self = new Map<string, number>()
const total = new Map<string, number>()
let counted = 0
for (const s of p.samples) {
  const leaf = byId.get(s)
  if (!leaf) continue
  const name = leaf.callFrame.functionName
  if (name === '(idle)' || name === '(program)' || name === '(root)') continue
  counted++
  self.set(key(leaf), (self.get(key(leaf)) ?? 0) + 1)
  const seen = new Set<string>()
  for (let id: number | undefined = s; id !== undefined; id = parent.get(id)) {
    const n = byId.get(id)
    if (!n || n.callFrame.functionName === '(root)') continue
    const k = key(n)
    if (seen.has(k)) continue
    seen.add(k)
    total.set(k, (total.get(k) ?? 0) + 1)
  }
}
const pct = (x: number) => `${((100 * x) / counted).toFixed(1).padStart(5)} %`
console.log(`${counted} samples (of ${p.samples.length}) in ${file}`)
console.log('\nSelf:')
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}  ${String(v).padStart(6)}  ${k}`)
console.log('\nTotal (on the stack):')
for (const [k, v] of [...total].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(v)}  ${String(v).padStart(6)}  ${k}`)
