/** The alerting fields of a targets file (config/alert-fields.ts): labels, webhook format, alertmanager, flap. */
import { expect, test } from 'bun:test'
import { ConfigError, parseTargetsText, validateTarget } from '../../src/config/targets-file.ts'
import { toFileForm } from '../../src/config/target-form.ts'

const problems = (text: string) => {
  try {
    parseTargetsText(text, 't.yaml')
  } catch (e) {
    return (e as ConfigError).problems.join('\n')
  }
  return ''
}

test('labels, formats, alertmanager and flap parse, and a target round-trips through the file form', () => {
  const f = parseTargetsText(
    `defaults: {flap: {changes: 4}}
targets:
  - {id: a, url: "http://127.0.0.1:1/", labels: {team: web, tier: 1}}
webhooks:
  - http://hook/
  - {url: "http://slack/", format: slack}
alertmanager: {urls: "http://am:9093/", labels: {env: prod}, resend: 30s}
`,
    't.yaml',
  )
  const t = f.targets[0]!
  expect(t.labels).toEqual({ team: 'web', tier: '1' })
  expect(t.flap).toEqual({ changes: 4, withinMs: 600_000, settleMs: 300_000 })
  expect(f.webhooks.map((w) => w.format ?? 'json')).toEqual(['json', 'slack'])
  expect(f.alertmanager).toEqual({ urls: ['http://am:9093'], labels: { env: 'prod' }, resendMs: 30_000 })
  expect(validateTarget(toFileForm(t))).toEqual(t)
})

test('every bad alerting field is named with its fix', () => {
  const cases: Array<[string, RegExp]> = [
    ['targets:\n  - {id: a, tcp: "h:1", labels: {"9x": y}}', /target "a"\.labels: "9x" is not a label name/],
    ['targets:\n  - {id: a, tcp: "h:1", labels: {alertname: y}}', /labels\.alertname: is set by heck itself/],
    ['targets:\n  - {id: a, tcp: "h:1", labels: [x]}', /target "a"\.labels: must be a map/],
    ['webhooks:\n  - {url: "http://h/", format: teams}', /webhooks\[0\]\.format: must be json .*slack .*discord/],
    ['alertmanager: {urls: []}', /alertmanager\.urls: must list at least one/],
    ['alertmanager: {urls: ["ftp://x"]}', /alertmanager\.urls: must be absolute http/],
    ['alertmanager: {urls: ["http://x"], resend: 1h1s}', /alertmanager\.resend: must be from 1s to 1h/],
    ['alertmanager: {urls: ["http://x"], every: 1m}', /alertmanager: unknown field "every"/],
    ['defaults: {flap: {changes: -1}}', /defaults\.flap\.changes: must be a whole number from 0/],
    ['targets:\n  - {id: a, tcp: "h:1", flap: {changes: 3, within: soon}}', /target "a"\.flap\.within: /],
    ['targets:\n  - {id: a, tcp: "h:1", flap: {changes: 3, window: 1m}}', /flap: unknown field "window"/],
  ]
  for (const [text, want] of cases) expect(problems(text)).toMatch(want)
})
