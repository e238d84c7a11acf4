/**
 * The import graph of src/: its cycles and the layer rules the house keeps
 * (docs/ARCHITECTURE.md "Layers"). Run `bun run scripts/import-graph.ts` for a
 * report; test/house/imports.test.ts asserts it is clean. Relative imports only:
 * packages are outside the graph. `import type` counts too, since a type cycle is
 * still a knot in the design, even though it costs nothing at run time.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s+['"](\.[^'"]+)['"]|(?:^|\n)\s*import\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p, out)
    else if (p.endsWith('.ts') || p.endsWith('.tsx')) out.push(p)
  }
  return out
}

/** src-relative path → the src-relative paths it imports. */
export function importGraph(root: string): Map<string, string[]> {
  const src = resolve(root, 'src')
  const graph = new Map<string, string[]>()
  for (const file of walk(src)) {
    const text = readFileSync(file, 'utf8')
    const deps = new Set<string>()
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3]
      if (!spec) continue
      const target = resolve(dirname(file), spec)
      if (target.startsWith(src)) deps.add(relative(src, target))
    }
    graph.set(relative(src, file), [...deps].sort())
  }
  return graph
}

/** Every elementary cycle is reported once, through its strongly connected component (Tarjan). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const on = new Set<string>()
  const out: string[][] = []
  const strong = (v: string) => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!idx.has(w)) {
        strong(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!))
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = []
      let w: string
      do {
        w = stack.pop()!
        on.delete(w)
        comp.push(w)
      } while (w !== v)
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort())
    }
  }
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v)
  return out
}

/**
 * Layers, lowest first. A module may import its own folder and any folder of a
 * lower layer, never a higher one. Folders not listed are unconstrained (reported).
 */
export const LAYERS: string[][] = [
  ['version.ts', 'seams'],
  ['codec', 'config', 'metrics'],
  ['membership', 'crdt', 'poller', 'history', 'ownership'],
  ['alerts', 'node'],
  // Real I/O adapters: they implement the seams and the cores' interfaces (Prober, Poster).
  ['runtime'],
  ['gossip', 'etcd'],
  ['agent', 'api', 'web'],
  ['tui'],
  ['farm', 'cli'],
]
const folderOf = (p: string) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : p)

export function layerViolations(graph: Map<string, string[]>): string[] {
  const rank = new Map<string, number>()
  LAYERS.forEach((folders, i) => folders.forEach((f) => rank.set(f, i)))
  const out: string[] = []
  for (const [from, deps] of graph) {
    const rf = rank.get(folderOf(from))
    if (rf === undefined) {
      out.push(`${from}: folder ${folderOf(from)} has no layer (add it to LAYERS)`)
      continue
    }
    for (const to of deps) {
      const rt = rank.get(folderOf(to))
      if (rt === undefined || rt > rf) out.push(`${from} imports ${to} (a higher layer)`)
    }
  }
  return out
}

if (import.meta.main) {
  const g = importGraph(process.cwd())
  const cs = cycles(g)
  const vs = layerViolations(g)
  for (const c of cs) console.log(`cycle: ${c.join(' <-> ')}`)
  for (const v of vs) console.log(`layer: ${v}`)
  console.log(`${g.size} modules, ${cs.length} cycles, ${vs.length} layer violations`)
  process.exit(cs.length + vs.length > 0 ? 1 : 0)
}
