import { describe, expect, test } from 'bun:test'
import type { Expect } from '../../src/config/types.ts'
import { checkLatency, evaluateHttp, needsBody } from '../../src/poller/conditions.ts'

const any: Expect = { status: [] }

describe('conditions', () => {
  test.each([
    [any, 200, 5, undefined, true, undefined],
    [any, 204, 5, undefined, true, undefined],
    [any, 299, 5, undefined, true, undefined],
    [any, 199, 5, undefined, false, 'status 199, expected 2xx'],
    [any, 301, 5, undefined, false, 'status 301, expected 2xx'],
    [any, 503, 5, undefined, false, 'status 503, expected 2xx'],
    [{ status: [200, 204] }, 204, 5, undefined, true, undefined],
    [{ status: [200, 204] }, 201, 5, undefined, false, 'status 201, expected 200|204'],
    [{ status: [503] }, 503, 5, undefined, true, undefined],
    [{ status: [], bodyContains: 'ok' }, 200, 5, '{"status":"ok"}', true, undefined],
    [{ status: [], bodyContains: 'ok' }, 200, 5, 'fine', false, 'body does not contain "ok"'],
    [{ status: [], bodyContains: 'ok' }, 200, 5, undefined, false, 'body does not contain "ok"'],
    [{ status: [], bodyContains: 'ok' }, 500, 5, 'ok', false, 'status 500, expected 2xx'],
    [{ status: [], maxLatencyMs: 100 }, 200, 100, undefined, true, undefined],
    [{ status: [], maxLatencyMs: 100 }, 200, 100.4, undefined, false, 'latency 100ms above max 100ms'],
    [{ status: [], maxLatencyMs: 100, bodyContains: 'x' }, 200, 250, 'y', false, 'body does not contain "x"'],
  ] as Array<[Expect, number, number, string | undefined, boolean, string | undefined]>)(
    '%o status %d latency %d body %p → ok %p',
    (expect_, code, latency, body, ok, error) => {
      const v = evaluateHttp(expect_, code, latency, body)
      expect(v.ok).toBe(ok)
      expect(v.error).toBe(error)
    },
  )

  test('tcp checks only know latency', () => {
    expect(checkLatency(any, 1e6).ok).toBe(true)
    expect(checkLatency({ status: [], maxLatencyMs: 10 }, 11).ok).toBe(false)
  })

  test('the body is needed only for body_contains', () => {
    expect(needsBody(any)).toBe(false)
    expect(needsBody({ status: [], bodyContains: '' })).toBe(false)
    expect(needsBody({ status: [], bodyContains: 'ok' })).toBe(true)
  })
})
