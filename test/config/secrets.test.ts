/**
 * Secrets in definitions (SPEC.md "Secrets"): header references and secret_headers in
 * the targets file and the API body, the placeholder refused, the one redaction
 * function, and the public form that a client can POST back.
 */
import { describe, expect, test } from 'bun:test'
import { ConfigError, parseTargetsText, validateTarget } from '../../src/config/targets-file.ts'
import { asTarget, publicForm, toFileForm } from '../../src/config/target-form.ts'
import { literalSecrets, redact, redactUrl, REDACTED } from '../../src/config/secrets.ts'
import type { HttpCheck } from '../../src/config/types.ts'

const errOf = (fn: () => unknown): string => {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    return (e as ConfigError).problems.join('\n')
  }
  throw new Error('expected a ConfigError')
}
const httpOf = (t: { check: unknown }) => t.check as HttpCheck

describe('header references', () => {
  test('{env: NAME} and {file: PATH} are kept as references; literal values as strings', () => {
    const f = parseTargetsText(
      `targets:
  - id: a
    url: http://10.0.0.1/h
    headers:
      Authorization: {env: API_TOKEN}
      X-Key: {file: /run/secrets/key}
      Host: api.internal`,
      't.yaml',
    )
    expect(httpOf(f.targets[0]!).headers).toEqual({ Authorization: { env: 'API_TOKEN' }, 'X-Key': { file: '/run/secrets/key' }, Host: 'api.internal' })
  })

  test.each([
    [{ env: 'API-TOKEN' }, 'headers.Authorization.env: must be an environment variable name'],
    [{ env: '1X' }, 'headers.Authorization.env: must be an environment variable name'],
    [{ file: 'relative/path' }, 'headers.Authorization.file: must be an absolute path on the checking node'],
    [{ env: 'A', file: '/b' }, 'headers.Authorization: must be a string, {env: NAME} or {file: /absolute/path}'],
    [{ vault: 'x' }, 'headers.Authorization: must be a string, {env: NAME} or {file: /absolute/path}'],
    [['x'], 'headers.Authorization: must be a string, {env: NAME} or {file: /absolute/path}'],
  ])('a bad reference %p is refused with file, target and field', (value, msg) => {
    const e = errOf(() => parseTargetsText(JSON.stringify({ targets: [{ id: 'a', url: 'http://x/', headers: { Authorization: value } }] }), 't.json'))
    expect(e).toContain(`t.json: target "a".${msg}`)
  })

  test('webhook headers take literal values only', () => {
    const e = errOf(() => parseTargetsText(JSON.stringify({ webhooks: [{ url: 'http://hook/', headers: { Authorization: { env: 'X' } } }] }), 't.json'))
    expect(e).toContain('t.json: webhooks[0].headers.Authorization: must be a string (webhook headers take literal values')
  })

  test('the "<redacted>" placeholder is refused, in a header and as a URL password, saying what to send', () => {
    const h = errOf(() => validateTarget({ id: 'a', url: 'http://x/', headers: { Authorization: REDACTED } }))
    expect(h).toContain('target "a".headers.Authorization: "<redacted>" is what reads show in place of a secret; send the value itself or a reference')
    const u = errOf(() => validateTarget({ id: 'a', url: `http://user:${REDACTED}@x/` }))
    expect(u).toContain('target "a".url: the password is "<redacted>" is what reads show')
  })
})

describe('secret_headers', () => {
  test('defaults and the target merge, without repeats, case-insensitively', () => {
    const f = parseTargetsText(
      `defaults: {secret_headers: [X-Api-Key]}
targets:
  - {id: a, url: "http://x/", secret_headers: [x-api-key, X-Other]}
  - {id: b, url: "http://x/"}
  - {id: c, tcp: "h:1"}`,
      't.yaml',
    )
    expect(httpOf(f.targets[0]!).secretHeaders).toEqual(['X-Api-Key', 'X-Other'])
    expect(httpOf(f.targets[1]!).secretHeaders).toEqual(['X-Api-Key'])
    expect(f.targets[2]!.check).toEqual({ kind: 'tcp', host: 'h', port: 1 })
  })

  test('absent when none is given, so definitions without it are unchanged', () => {
    expect('secretHeaders' in validateTarget({ id: 'a', url: 'http://x/' }).check).toBe(false)
  })

  test('bad entries, a non-list and a TCP target are refused', () => {
    expect(errOf(() => validateTarget({ id: 'a', url: 'http://x/', secret_headers: 'X-Key' }))).toContain('target "a".secret_headers: must be a list of header names')
    expect(errOf(() => validateTarget({ id: 'a', url: 'http://x/', secret_headers: ['bad name'] }))).toContain('target "a".secret_headers: "bad name" is not a valid header name')
    expect(errOf(() => validateTarget({ id: 'a', tcp: 'h:1', secret_headers: ['X'] }))).toContain('"secret_headers" and "expect" apply to HTTP checks only')
  })
})

describe('redaction', () => {
  test('Authorization, Cookie, Proxy-Authorization (any case) and secret_headers; references shown as themselves', () => {
    const t = validateTarget({
      id: 'a',
      url: 'https://bob:hunter2@x.example/h?q=1',
      secret_headers: ['X-Api-Key'],
      headers: { authorization: 'Bearer S1', COOKIE: 's=S2', 'Proxy-Authorization': 'Basic S3', 'x-api-key': 'S4', 'X-Token': { env: 'TOKEN' }, Host: 'h' },
    })
    const p = publicForm(t)
    expect(p.url).toBe(`https://bob:${REDACTED}@x.example/h?q=1`)
    expect(p.headers).toEqual({ authorization: REDACTED, COOKIE: REDACTED, 'Proxy-Authorization': REDACTED, 'x-api-key': REDACTED, 'X-Token': { env: 'TOKEN' }, Host: 'h' })
    expect(JSON.stringify(p)).not.toMatch(/S1|S2|S3|S4|hunter2/)
    // The stored definition is untouched: the checking node still needs the values.
    expect(httpOf(t).headers.authorization).toBe('Bearer S1')
  })

  test('redact works on the internal form and on nested definitions too', () => {
    const t = validateTarget({ id: 'a', url: 'http://x/', secret_headers: ['X-K'], headers: { 'X-K': 'S1' } })
    expect(JSON.stringify(redact(t))).not.toContain('S1')
    expect(redact({ webhooks: [{ url: 'http://u:pw@hook/', headers: { Authorization: 'S2' } }] })).toEqual({
      webhooks: [{ url: `http://u:${REDACTED}@hook/`, headers: { Authorization: REDACTED } }],
    })
  })

  test('a URL without a password is left alone', () => {
    expect(redactUrl('http://user@x/')).toBe('http://user@x/')
    expect(redactUrl('not a url')).toBe('not a url')
  })

  test('literalSecrets names literal secret headers and a URL password, not references', () => {
    const t = validateTarget({ id: 'a', url: 'http://u:p@x/', headers: { Authorization: 'x', Cookie: { file: '/c' }, Host: 'h' } })
    expect(literalSecrets(t)).toEqual(['header Authorization', 'url password'])
    expect(literalSecrets(validateTarget({ id: 'b', url: 'http://x/', headers: { Authorization: { env: 'T' } } }))).toEqual([])
  })
})

describe('the public form round-trips', () => {
  const full = {
    id: 'full',
    url: 'https://api.example:8443/healthz?deep=1',
    method: 'POST',
    headers: { Authorization: { env: 'API_TOKEN' }, 'X-Key': { file: '/run/secrets/key' }, Host: 'api.internal' },
    secret_headers: ['X-Key'],
    interval: '1m30s',
    timeout: '1500ms',
    rise: 4,
    fall: 5,
    expect: { status: [200, 204], body_contains: 'ok', max_latency: '250ms' },
    connection: 'new',
  }

  test('validateTarget(publicForm(t)) is t when it holds no literal secret; the form is what was sent', () => {
    const t = validateTarget(full)
    expect(publicForm(t)).toEqual({ ...full, interval: '90s' })
    expect(validateTarget(publicForm(t))).toEqual(t)
  })

  test('a peer definition with references passes asTarget unchanged', () => {
    const t = validateTarget(full)
    expect(asTarget('full', structuredClone(t))).toEqual(t)
    expect(toFileForm(t).headers).not.toBe(httpOf(t).headers)
  })
})
