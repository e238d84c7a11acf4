import { describe, expect, test } from 'bun:test'
import { ConfigError, parseTargetsText, validateTarget } from '../../src/config/targets-file.ts'
import { parseDuration } from '../../src/config/duration.ts'

const errOf = (fn: () => unknown): string => {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    return (e as ConfigError).problems.join('\n')
  }
  throw new Error('expected a ConfigError')
}

describe('durations', () => {
  test.each([
    ['500ms', 500],
    ['5s', 5000],
    ['1m', 60_000],
    ['2h', 7_200_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
  ])('%s = %d ms', (s, ms) => expect(parseDuration(s)).toBe(ms))

  test.each(['5', '', 'fast', '5 s', '-1s', '0s', '5d'])('%p is refused', (s) => {
    expect(typeof parseDuration(s)).toBe('object')
  })
})

describe('targets file', () => {
  test('YAML with defaults, HTTP and TCP targets', () => {
    const f = parseTargetsText(
      `defaults:
  interval: 10s
  timeout: 2s
  rise: 1
targets:
  - id: api-1
    url: http://10.0.0.5:8080/healthz
    method: get
    headers: { Host: api.internal }
    expect:
      status: [200, 204]
      body_contains: ok
      max_latency: 500ms
  - id: db-1
    tcp: 10.0.0.6:5432
    connection: new
  - id: v6
    tcp: "[::1]:80"
`,
      't.yaml',
    )
    expect(f.targets).toHaveLength(3)
    const [api, db, v6] = f.targets
    expect(api).toEqual({
      id: 'api-1',
      check: { kind: 'http', url: 'http://10.0.0.5:8080/healthz', method: 'GET', headers: { Host: 'api.internal' } },
      intervalMs: 10_000,
      timeoutMs: 2000,
      rise: 1,
      fall: 3,
      expect: { status: [200, 204], bodyContains: 'ok', maxLatencyMs: 500 },
      connection: 'reuse',
    })
    expect(db?.check).toEqual({ kind: 'tcp', host: '10.0.0.6', port: 5432 })
    expect(db?.connection).toBe('new')
    expect(v6?.check).toEqual({ kind: 'tcp', host: '::1', port: 80 })
  })

  test('JSON is accepted', () => {
    const f = parseTargetsText('{"targets":[{"id":"a","url":"https://x.test/"}]}', 't.json')
    expect(f.targets[0]?.intervalMs).toBe(5000)
    expect(f.targets[0]?.timeoutMs).toBe(2000)
  })

  test('timeout defaults below a short interval', () => {
    const f = parseTargetsText('targets: [{id: a, url: "http://x/", interval: 1s}]', 't.yaml')
    expect(f.targets[0]?.timeoutMs).toBe(800)
  })

  test('an empty file watches nothing', () => {
    expect(parseTargetsText('', 'e.yaml').targets).toEqual([])
  })

  test('unknown fields name the file, target and field', () => {
    const e = errOf(() => parseTargetsText('targets: [{id: a, url: "http://x/", intervall: 5s}]', 'f.yaml'))
    expect(e).toContain('f.yaml: target "a": unknown field "intervall"')
  })

  test('duplicate ids', () => {
    const e = errOf(() => parseTargetsText('targets: [{id: a, tcp: "h:1"}, {id: a, tcp: "h:2"}]', 'f.yaml'))
    expect(e).toContain('target "a": duplicate id (also at targets[0])')
  })

  test('timeout at or above interval', () => {
    const e = errOf(() => parseTargetsText('targets: [{id: a, tcp: "h:1", interval: 1s, timeout: 1s}]', 'f.yaml'))
    expect(e).toContain('target "a".timeout')
    expect(e).toContain('must be below the interval')
  })

  test('bad URL, bad TCP address, bad duration, bad id', () => {
    const e = errOf(() =>
      parseTargetsText(
        `targets:
  - {id: a, url: "ftp://x/"}
  - {id: b, tcp: "nohost"}
  - {id: c, url: "http://x/", interval: 5}
  - {id: "bad id", url: "http://x/"}
`,
        'f.yaml',
      ),
    )
    expect(e).toContain('target "a".url: must be an absolute http:// or https:// URL')
    expect(e).toContain('target "b".tcp: must be HOST:PORT')
    expect(e).toContain('target "c".interval')
    expect(e).toContain('f.yaml: targets[3].id')
  })

  test('invalid YAML names the file', () => {
    const e = errOf(() => parseTargetsText('targets: [unclosed', 'f.yaml'))
    expect(e).toStartWith('f.yaml: not valid YAML')
  })

  test('webhooks', () => {
    const f = parseTargetsText('webhooks: ["http://hook.test/a", {url: "https://h/b", headers: {X-Key: k}}]\ntargets: []', 'w.yaml')
    expect(f.webhooks).toEqual([
      { url: 'http://hook.test/a', headers: {} },
      { url: 'https://h/b', headers: { 'X-Key': 'k' } },
    ])
  })

  test('one target on its own (API body)', () => {
    expect(validateTarget({ id: 'x', url: 'http://a/' }).id).toBe('x')
    expect(() => validateTarget({ id: 'x' })).toThrow('needs "url"')
  })
})
