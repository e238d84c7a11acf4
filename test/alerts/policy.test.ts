/** The pure alerting rules: incidents and what is owed, flap damping, silences, payloads. */
import { describe, expect, test } from 'bun:test'
import { onChange, settled, asFlapState, type FlapPolicy } from '../../src/alerts/flap.ts'
import { asIncident, markSent, nextIncident, owed } from '../../src/alerts/incident.ts'
import { alertmanagerAlert, webhookBody, type Notification } from '../../src/alerts/payloads.ts'
import { asSilence, parseSilence, silences, SilenceError } from '../../src/alerts/silence.ts'

describe('incidents', () => {
  test('one id per incident, down owed once, resolved owed once after it ended', () => {
    let i = nextIncident(undefined, 'api', 'healthy', 'unhealthy', 1_000_000, 'connection refused', ['a', 'b'])
    expect(i?.id).toBe(`api~${(1_000_000).toString(36)}`)
    expect(owed(i, false)).toBe('down')
    expect(owed(i, true)).toBeUndefined() // silenced or flapping: held
    i = markSent(i!, 'down', 'a', 1_000_010)
    expect(owed(i, false)).toBeUndefined()
    // Still down after an owner change: the same incident, nothing owed.
    expect(nextIncident(i, 'api', 'unhealthy', 'unhealthy', 1_005_000)).toBe(i)
    const ended = nextIncident(i, 'api', 'unhealthy', 'healthy', 1_009_000)
    expect(ended?.id).toBe(i.id)
    expect(owed(ended, false)).toBe('resolved')
    expect(owed(markSent(ended!, 'resolved', 'b', 1_009_100), false)).toBeUndefined()
    // The next failure is a new incident.
    expect(nextIncident(ended, 'api', 'healthy', 'unhealthy', 1_020_000)?.id).not.toBe(i.id)
  })

  test('an incident that ended before its down went out owes nothing (no lone resolved)', () => {
    const i = nextIncident(undefined, 'api', 'unknown', 'unhealthy', 5)
    expect(owed(nextIncident(i, 'api', 'unhealthy', 'healthy', 9), false)).toBeUndefined()
  })

  test('malformed incidents from peers are refused', () => {
    expect(asIncident({ id: 'x', startedAt: 1, sentBy: 3 })).toBeUndefined()
    expect(asIncident({ id: 'x', startedAt: 1, confirmedBy: [1] })).toBeUndefined()
    expect(asIncident({ id: 'x', startedAt: 1, sentDown: 2, sentBy: 'n1' })?.sentBy).toBe('n1')
  })
})

describe('flap damping', () => {
  const p: FlapPolicy = { changes: 3, withinMs: 60_000, settleMs: 30_000 }
  test('more than `changes` changes within the window flaps; stable for settleMs ends it', () => {
    let s = onChange(undefined, p, 0)
    s = onChange(s, p, 10_000)
    s = onChange(s, p, 20_000)
    expect(s.since).toBeUndefined()
    s = onChange(s, p, 30_000)
    expect(s.since).toBe(30_000)
    expect(s.changes.length).toBeLessThanOrEqual(4)
    expect(settled(s, p, 50_000)).toBe(false)
    s = onChange(s, p, 55_000) // still flapping: the settle clock restarts
    expect(settled(s, p, 80_000)).toBe(false)
    expect(settled(s, p, 85_000)).toBe(true)
  })
  test('changes spread wider than the window do not flap; damping off with changes 0', () => {
    let s = onChange(undefined, p, 0)
    for (let t = 70_000; t < 500_000; t += 70_000) s = onChange(s, p, t)
    expect(s.since).toBeUndefined()
    expect(onChange(s, { ...p, changes: 0 }, 1).changes).toEqual([])
    expect(asFlapState({ changes: ['x'] })).toBeUndefined()
  })
})

describe('silences', () => {
  const id = () => 'gen-1'
  test('a silence by target or by labels, until a time or for a duration', () => {
    const s = parseSilence({ target: 'api', duration: '2h', reason: 'deploy' }, 1000, 'n1', id)
    expect(s).toEqual({ id: 'gen-1', match: { target: 'api' }, until: 1000 + 7_200_000, reason: 'deploy', createdAt: 1000, createdBy: 'n1' })
    expect(silences(s, { id: 'api' }, 2000)).toBe(true)
    expect(silences(s, { id: 'web' }, 2000)).toBe(false)
    expect(silences(s, { id: 'api' }, s.until)).toBe(false) // expired
    const l = parseSilence({ labels: { team: 'db' }, until: '2026-12-03T18:00:00Z', reason: 'migration' }, Date.parse('2026-12-03T10:00:00Z'), 'n2', id)
    expect(silences(l, { id: 'x', labels: { team: 'db', env: 'prod' } }, Date.parse('2026-12-03T11:00:00Z'))).toBe(true)
    expect(silences(l, { id: 'x', labels: { team: 'web' } }, Date.parse('2026-12-03T11:00:00Z'))).toBe(false)
    expect(asSilence(JSON.parse(JSON.stringify(l)))).toEqual(l)
  })
  test('every bad field is named with its fix', () => {
    try {
      parseSilence({ labels: { '9x': 1 }, until: 'tomorrow', reason: '', extra: 1 }, 0, 'n', id)
      throw new Error('no error')
    } catch (e) {
      expect(e).toBeInstanceOf(SilenceError)
      const msg = (e as SilenceError).problems.join('\n')
      expect(msg).toMatch(/extra: unknown field/)
      expect(msg).toMatch(/labels\.9x: not a valid label name/)
      expect(msg).toMatch(/until: must be an RFC 3339 time/)
      expect(msg).toMatch(/reason: say why/)
    }
    expect(() => parseSilence({ target: 'a', duration: '1h', reason: 'r' }, 0, 'n', () => 'bad id!')).toThrow(/id: must be/)
    expect(() => parseSilence({ reason: 'r', duration: '1h' }, 0, 'n', id)).toThrow(/target or labels: say what to silence/)
    expect(() => parseSilence({ target: 'a', until: 5, reason: 'r' }, 10, 'n', id)).toThrow(/already past/)
    expect(() => parseSilence({ target: 'a', duration: '2400h', reason: 'r' }, 10, 'n', id)).toThrow(/at most 90 days/)
  })
})

describe('payloads', () => {
  const n: Notification = { kind: 'down', incident: 'api~x', target: 'api', status: 'unhealthy', previous: 'healthy', since: 1000, startedAt: 1000, node: 'n1', error: 'HTTP 503', confirmedBy: ['n1', 'n2'], labels: { team: 'db' } }
  test('slack, discord and json bodies name the target, the error and the confirmers', () => {
    expect(JSON.parse(webhookBody(n, 'slack')).text).toMatch(/api is DOWN.*HTTP 503.*Seen from n1, n2/)
    expect(JSON.parse(webhookBody(n, 'discord')).content).toMatch(/api is DOWN/)
    expect(JSON.parse(webhookBody(n, 'json'))).toMatchObject({ type: 'health', kind: 'down', target: 'api', incident: 'api~x' })
  })
  test('an Alertmanager alert: alertname, target and labels; startsAt; endsAt only when resolved', () => {
    const a = alertmanagerAlert(n, { env: 'prod' }, 5000)
    expect(a.labels).toEqual({ team: 'db', env: 'prod', alertname: 'HeckTargetDown', target: 'api' })
    expect(a.startsAt).toBe(new Date(1000).toISOString())
    expect(a.endsAt).toBeUndefined()
    expect((a.annotations as Record<string, string>).confirmed_by).toBe('n1, n2')
    const r = alertmanagerAlert({ ...n, kind: 'resolved', status: 'healthy', since: 9000 }, {}, 9500)
    expect(r.endsAt).toBe(new Date(9500).toISOString())
    expect(r.startsAt).toBe(a.startsAt)
  })
})
