import { describe, expect, test } from 'bun:test'
import { Registry } from '../../src/metrics/registry.ts'

describe('Registry', () => {
  test('renders counters, gauges and histograms in the exposition format', () => {
    const m = new Registry()
    const c = m.counter('x_total', 'Things')
    c.inc()
    c.inc({ result: 'ok' })
    c.inc({ result: 'ok' }, 2)
    c.inc({ result: 'fail' })
    c.inc({ kind: 'a', direction: 'in' }, 5)
    c.inc({ direction: 'in', kind: 'a' })
    c.inc({ a: '1', b: '2', c: 'q"\\\n' })
    m.gauge('g', 'A gauge').set({ target: 'x' }, 3)
    const h = m.histogram('h_seconds', 'A histogram', [0.1, 1])
    h.observe(0.05)
    h.observe(0.5)
    h.observe(5)
    expect(m.render()).toBe(
      [
        '# HELP x_total Things',
        '# TYPE x_total counter',
        'x_total 1',
        'x_total{result="ok"} 3',
        'x_total{result="fail"} 1',
        'x_total{direction="in",kind="a"} 6',
        'x_total{a="1",b="2",c="q\\"\\\\\\n"} 1',
        '# HELP g A gauge',
        '# TYPE g gauge',
        'g{target="x"} 3',
        '# HELP h_seconds A histogram',
        '# TYPE h_seconds histogram',
        'h_seconds_bucket{le="0.1"} 1',
        'h_seconds_bucket{le="1"} 2',
        'h_seconds_bucket{le="+Inf"} 3',
        'h_seconds_sum 5.55',
        'h_seconds_count 3',
        '',
      ].join('\n'),
    )
  })

  test('get reads what inc wrote, whatever the label order', () => {
    const c = new Registry().counter('c', 'c')
    c.inc({ b: 'y', a: 'x' }, 4)
    expect(c.get({ a: 'x', b: 'y' })).toBe(4)
    expect(c.get({ a: 'x' })).toBe(0)
    expect(c.get()).toBe(0)
    c.inc({}, 2)
    expect(c.get()).toBe(2)
  })

  test('bound children share the counter values', () => {
    const m = new Registry()
    const c = m.counter('checks_total', 'Checks')
    const ok = c.labels({ result: 'ok' })
    ok.inc()
    ok.inc(2)
    c.inc({ result: 'ok' })
    expect(ok.get()).toBe(4)
    expect(c.get({ result: 'ok' })).toBe(4)
    expect(m.render()).toContain('checks_total{result="ok"} 4\n')
  })
})
