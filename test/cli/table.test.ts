/** `heck status`'s table: flapping and a disagreement of confirm: N show beside the last error. */
import { expect, test } from 'bun:test'
import { healthTable } from '../../src/cli/table.ts'

test('the note column shows flapping and who saw a failure the others did not', () => {
  const out = healthTable(
    [
      { id: 'a', status: 'healthy', since: 0, owner: 'n1', last: null, confirmation: { at: 0, saw: { n1: 'fail', n2: 'ok', n3: 'no answer' }, outcome: 'disagreed' } },
      { id: 'b', status: 'unhealthy', since: 0, owner: 'n2', last: { ok: false, latency_ms: 3, checked_at: 0, checker: 'n2', error: 'status 503' }, flapping: true },
      { id: 'c', status: 'unhealthy', since: 0, owner: 'n2', last: null, confirmation: { at: 0, saw: { n1: 'fail', n2: 'fail' }, outcome: 'confirmed' } },
    ],
    1000,
  )
  const line = (id: string) => out.split('\n').find((l) => l.startsWith(`${id} `)) ?? ''
  expect(line('a')).toContain('[failing only from n1: n2 ok, n3 no answer]')
  expect(line('b')).toContain('[flapping] status 503')
  expect(line('c')).not.toContain('[')
})
