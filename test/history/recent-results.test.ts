import { describe, expect, test } from 'bun:test'
import type { CheckResult } from '../../src/config/types.ts'
import { RecentResults } from '../../src/node/recent-results.ts'

const r = (i: number, extra: Partial<CheckResult> = {}): CheckResult => ({ ok: i % 3 !== 0, latency_ms: i + 0.25, checked_at: 1_700_000_000_000 + i, checker: 'n1', ...extra })

describe('RecentResults (columnar ring)', () => {
  test('keeps results oldest first, up to capacity', () => {
    const rr = new RecentResults(4)
    expect(rr.get('a')).toEqual([])
    expect(rr.last('a')).toBeUndefined()
    for (let i = 1; i <= 3; i++) rr.add('a', r(i))
    expect(rr.get('a')).toEqual([r(1), r(2), r(3)])
    for (let i = 4; i <= 10; i++) rr.add('a', r(i))
    expect(rr.get('a')).toEqual([r(7), r(8), r(9), r(10)])
    expect(rr.last('a')).toEqual(r(10))
  })

  test('round-trips every field; absent optional fields stay absent', () => {
    const rr = new RecentResults(3)
    const withAll = r(5, { ok: false, status_code: 503, error: 'status 503, expected 2xx', checker: 'node-b' })
    const plain = r(6, { ok: true })
    rr.add('t', withAll)
    rr.add('t', plain)
    const got = rr.get('t')
    expect(got).toEqual([withAll, plain])
    expect('error' in (got[1] as CheckResult)).toBe(false)
    expect('status_code' in (got[1] as CheckResult)).toBe(false)
  })

  test('an error is forgotten when its cell is overwritten', () => {
    const rr = new RecentResults(2)
    rr.add('t', r(1, { ok: false, error: 'connection refused' }))
    rr.add('t', r(2))
    rr.add('t', r(3))
    expect(rr.get('t').some((x) => x.error !== undefined)).toBe(false)
  })

  test('targets are independent; delete frees the row for reuse', () => {
    const rr = new RecentResults(3)
    for (let t = 0; t < 200; t++) for (let i = 0; i < t % 5; i++) rr.add(`t${t}`, r(t * 10 + i))
    for (let t = 0; t < 200; t++) {
      const n = Math.min(3, t % 5)
      expect(rr.get(`t${t}`).map((x) => x.checked_at)).toEqual(Array.from({ length: n }, (_, k) => 1_700_000_000_000 + t * 10 + (t % 5) - n + k))
    }
    rr.add('gone', r(1, { error: 'x' }))
    rr.delete('gone')
    expect(rr.get('gone')).toEqual([])
    rr.add('new', r(2))
    expect(rr.get('new')).toEqual([r(2)])
    expect(rr.get('t7').length).toBe(2)
  })

  test('matches a naive ring on a random sequence', () => {
    let seed = 42
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n)
    const cap = 5
    const rr = new RecentResults(cap)
    const naive = new Map<string, CheckResult[]>()
    for (let step = 0; step < 5000; step++) {
      const id = `t${rand(20)}`
      if (rand(50) === 0) {
        rr.delete(id)
        naive.delete(id)
        continue
      }
      const x = r(step, rand(4) === 0 ? { ok: false, error: `e${rand(3)}`, status_code: 500 } : { checker: `n${rand(3)}` })
      rr.add(id, x)
      const list = naive.get(id) ?? []
      list.push(x)
      naive.set(id, list.slice(-cap))
    }
    for (let t = 0; t < 20; t++) expect(rr.get(`t${t}`)).toEqual(naive.get(`t${t}`) ?? [])
  })

  test('refuses a capacity it cannot index', () => {
    expect(() => new RecentResults(0)).toThrow()
    expect(() => new RecentResults(70_000)).toThrow()
  })
})
