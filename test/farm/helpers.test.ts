import { describe, expect, test } from 'bun:test'
import { parseTargetsText } from '../../src/config/targets-file.ts'
import { FarmCounters, nodeFromUserAgent, RECENT_PER_TARGET, TargetCounter } from '../../src/farm/counters.ts'
import { parseIdList, splitListArg } from '../../src/farm/id-list.ts'
import { renderTargetsYaml, targetsOptionsFromQuery } from '../../src/farm/targets-yaml.ts'

describe('counters', () => {
  test('node names come from the SPEC User-Agent', () => {
    expect(nodeFromUserAgent('heck/0.1.0 (node web-1)')).toBe('web-1')
    expect(nodeFromUserAgent('heck/1.2.3-dev (node a.b_c-9:7946)')).toBe('a.b_c-9:7946')
    expect(nodeFromUserAgent('Blackbox Exporter/0.25.0')).toBe('other:Blackbox')
    expect(nodeFromUserAgent('curl/8.5.0')).toBe('other:curl')
    expect(nodeFromUserAgent(null)).toBe('other:-')
  })

  test('per target, per node counts and a ring of recent arrivals', () => {
    const c = new FarmCounters(0)
    const t = new TargetCounter()
    for (let i = 0; i < 20; i++) c.record(t, `heck/0.1.0 (node n${i % 2})`, 1000 + i * 10)
    expect(c.total).toBe(20)
    expect(Object.fromEntries(c.byNode)).toEqual({ n0: 10, n1: 10 })
    expect(t.toJSON()).toEqual({ count: 20, last: 1190, lastNode: 'n1', nodes: { n0: { count: 10, first: 1000, last: 1180 }, n1: { count: 10, first: 1010, last: 1190 } } })
    const recent = t.recent()
    expect(recent.length).toBe(RECENT_PER_TARGET)
    expect(recent[0]).toEqual({ at: 1000 + (20 - RECENT_PER_TARGET) * 10, node: `n${(20 - RECENT_PER_TARGET) % 2}` })
    expect(recent.at(-1)).toEqual({ at: 1190, node: 'n1' })
  })
})

describe('id lists', () => {
  test('ids, ranges and a trailing argument', () => {
    expect(parseIdList('3')).toEqual(['3'])
    expect(parseIdList('0..3,x-1,9')).toEqual(['0', '1', '2', '3', 'x-1', '9'])
    expect('error' in (parseIdList('5..2') as object)).toBe(true)
    expect('error' in (parseIdList('a b') as object)).toBe(true)
    expect(splitListArg('0..4:500')).toEqual({ list: '0..4', arg: '500' })
    expect(splitListArg('7')).toEqual({ list: '7' })
  })
})

describe('targets file', () => {
  test('what the farm renders is a valid targets file for the agent', () => {
    const yaml = renderTargetsYaml({ baseUrl: 'http://127.0.0.1:8081', count: 3, start: 5, intervalMs: 500, timeoutMs: 300, rise: 1, fall: 2, connection: 'new' })
    const f = parseTargetsText(yaml, 'farm.yaml')
    expect(f.targets.map((t) => t.id)).toEqual(['t5', 't6', 't7'])
    expect(f.targets[0]).toMatchObject({ check: { kind: 'http', url: 'http://127.0.0.1:8081/t/5' }, intervalMs: 500, timeoutMs: 300, rise: 1, fall: 2, connection: 'new' })
    expect(parseTargetsText(renderTargetsYaml({ baseUrl: 'http://x:1', count: 0 }), 'e.yaml').targets).toEqual([])
  })

  test('query parameters', () => {
    const q = new URLSearchParams('count=10&interval=250ms&timeout=200ms&rise=1&fall=2&connection=new&prefix=web-&start=3')
    expect(targetsOptionsFromQuery(q, 'http://h:1', 100)).toEqual({ baseUrl: 'http://h:1', count: 10, start: 3, prefix: 'web-', intervalMs: 250, timeoutMs: 200, rise: 1, fall: 2, connection: 'new' })
    expect(targetsOptionsFromQuery(new URLSearchParams(''), 'http://h:1', 100)).toEqual({ baseUrl: 'http://h:1', count: 100 })
    for (const bad of ['count=-1', 'count=x', 'interval=5', 'connection=keep', 'prefix=a/b', 'rise=0']) {
      expect('error' in targetsOptionsFromQuery(new URLSearchParams(bad), 'http://h:1', 1)).toBe(true)
    }
  })
})
