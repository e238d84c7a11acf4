/**
 * The shape of src/ (docs/ARCHITECTURE.md "Layers"): no import cycles, and no module
 * imports a folder of a higher layer. scripts/import-graph.ts prints the same report.
 */
import { expect, test } from 'bun:test'
import { cycles, importGraph, layerViolations } from '../../scripts/import-graph.ts'

const root = new URL('../..', import.meta.url).pathname
const graph = importGraph(root)

test('src/ has no import cycles', () => {
  expect(graph.size).toBeGreaterThan(100)
  expect(cycles(graph).map((c) => c.join(' <-> '))).toEqual([])
})

test('no module imports a higher layer, and every folder has a layer', () => {
  expect(layerViolations(graph)).toEqual([])
})

test('the checker sees a cycle and a layer break when there is one', () => {
  const g = new Map([
    ['seams/a.ts', ['node/b.ts']],
    ['node/b.ts', ['seams/a.ts']],
  ])
  expect(cycles(g)).toEqual([['node/b.ts', 'seams/a.ts']])
  expect(layerViolations(g)).toEqual(['seams/a.ts imports node/b.ts (a higher layer)'])
})
