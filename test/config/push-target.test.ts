/** `push: {grace, token}` targets (config/push-field.ts): parsing, every bad field's message, the file form and redaction. */
import { expect, test } from 'bun:test'
import { ConfigError, parseTargetsText, validateTarget } from '../../src/config/targets-file.ts'
import { publicForm, toFileForm } from '../../src/config/target-form.ts'
import { literalSecrets } from '../../src/config/secrets.ts'

const TOKEN = 'a-push-token-of-some-length'

test('a push target: not polled, judged every second with thresholds of 1; round-trips through the file form; the token is redacted', () => {
  const t = validateTarget({ id: 'nightly', push: { grace: '25h', token: TOKEN } })
  expect(t.check).toEqual({ kind: 'push', graceMs: 25 * 3_600_000, token: TOKEN })
  expect([t.intervalMs, t.rise, t.fall]).toEqual([1000, 1, 1])
  expect(toFileForm(t)).toEqual({ id: 'nightly', push: { grace: '25h', token: TOKEN } })
  expect(validateTarget(toFileForm(t))).toEqual(t)
  expect(publicForm(t)).toEqual({ id: 'nightly', push: { grace: '25h', token: '<redacted>' } })
  expect(literalSecrets(t)).toEqual(['push token'])
  const ref = validateTarget({ id: 'r', push: { grace: '5m', token: { env: 'PUSH_TOKEN' } } })
  expect(publicForm(ref)).toEqual({ id: 'r', push: { grace: '5m', token: { env: 'PUSH_TOKEN' } } })
  expect(literalSecrets(ref)).toEqual([])
  // Defaults for polled targets do not apply to push targets.
  const f = parseTargetsText('defaults: {interval: 30s, fall: 5}\ntargets:\n  - {id: j, push: {grace: 1m}}\n  - {id: w, url: "http://127.0.0.1:1/"}\n', 't.yaml')
  expect(f.targets[0]!.fall).toBe(1)
  expect(f.targets[1]!.fall).toBe(5)
})

test('every bad push field is named with its fix', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ id: 'p', push: '5m' }, /target "p"\.push: must be a map with "grace"/],
    [{ id: 'p', push: {} }, /target "p"\.push\.grace: is required/],
    [{ id: 'p', push: { grace: 'soon' } }, /target "p"\.push\.grace: /],
    [{ id: 'p', push: { grace: '1s' } }, /push\.grace: must be from 2s to 168h/],
    [{ id: 'p', push: { grace: '169h' } }, /push\.grace: must be from 2s to 168h/],
    [{ id: 'p', push: { grace: '5m', every: '1m' } }, /push: unknown field "every"/],
    [{ id: 'p', push: { grace: '5m', token: 'short' } }, /push\.token: must be 16-4096 printable characters/],
    [{ id: 'p', push: { grace: '5m', token: '<redacted>' } }, /push\.token: must be 16-4096|push\.token: is the placeholder/],
    [{ id: 'p', push: { grace: '5m', token: { env: '1X' } } }, /push\.token/],
    [{ id: 'p', push: { grace: '5m' }, url: 'http://x/' }, /set one of "url".*"push"/],
    [{ id: 'p', push: { grace: '5m' }, interval: '10s' }, /target "p"\.interval: push targets are not polled/],
    [{ id: 'p', push: { grace: '5m' }, expect: { status: 200 } }, /target "p"\.expect: push targets are not polled/],
    [{ id: 'p' }, /needs "url" \(HTTP check\), "tcp" \(TCP check\) or "push" \(heartbeats\)/],
  ]
  for (const [raw, want] of bad) {
    let err: unknown
    try {
      validateTarget(raw)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).problems.join('\n')).toMatch(want)
  }
})
