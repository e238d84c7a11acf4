/**
 * Check credentials through the HTTP API of a whole simulated agent (assembleAgent,
 * as the CLI builds it): secret values posted once never come back in a read (GET,
 * the POST echo, /v1/health, the event stream); the placeholder is refused; a client
 * can POST back what it GETs; --api-read-token guards every endpoint but /healthz.
 */
import { describe, expect, test } from 'bun:test'
import { AgentSim, SIM_TOKEN } from '../sim/agent-sim.ts'

const write = (body: unknown, token = SIM_TOKEN) => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
})
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

async function oneAgent(config: { apiReadToken?: string } = {}) {
  const sim = new AgentSim({ seed: 1, agents: 1, targets: 0, config })
  await sim.start()
  const sa = sim.get('n0')
  // In-process requests: the app reads JSON loosely here.
  const req = (path: string, init?: RequestInit) => sa.app.request(path, init) as Promise<Omit<Response, 'json'> & { json(): Promise<any> }>
  return { sim, sa, req }
}

const SECRET_TARGET = {
  id: 'api',
  url: 'https://bob:URLSECRET@10.1.1.1/h',
  secret_headers: ['X-Api-Key'],
  headers: { Authorization: 'Bearer SUPERSECRET', cookie: 'sid=COOKIESECRET', 'x-api-key': 'KEYSECRET', Host: 'api.internal' },
}
const SECRETS = /SUPERSECRET|COOKIESECRET|KEYSECRET|URLSECRET/

describe('redaction in API reads', () => {
  test('a posted Authorization header is not readable back without a token', async () => {
    const { req } = await oneAgent()
    const r = await req('/v1/targets', write({ id: 'api', url: 'http://10.1.1.1/h', headers: { Authorization: 'Bearer SUPERSECRET' } }))
    expect(r.status).toBe(201)
    const got = await req('/v1/targets/api')
    expect(got.status).toBe(200)
    expect(await got.text()).not.toContain('SUPERSECRET')
  })

  test('GET and the POST echo show "<redacted>" for secret headers and the URL password; the checking node keeps the values', async () => {
    const { sa, req } = await oneAgent()
    const r = await req('/v1/targets', write(SECRET_TARGET))
    const echo = await r.text()
    expect(echo).not.toMatch(SECRETS)
    const shown = {
      url: 'https://bob:<redacted>@10.1.1.1/h',
      headers: { Authorization: '<redacted>', cookie: '<redacted>', 'x-api-key': '<redacted>', Host: 'api.internal' },
      secret_headers: ['X-Api-Key'],
    }
    expect(JSON.parse(echo).target).toMatchObject(shown)
    const got = await req('/v1/targets/api')
    const text = await got.text()
    expect(text).not.toMatch(SECRETS)
    expect(JSON.parse(text).target.definition).toMatchObject(shown)
    for (const path of ['/v1/health', '/v1/members', '/v1/ownership', '/v1/ownership?target=api', '/metrics']) {
      expect(await (await req(path)).text()).not.toMatch(SECRETS)
    }
    const stored = sa.agent.node.state.target('api')
    expect(stored?.check.kind === 'http' && stored.check.headers.Authorization).toBe('Bearer SUPERSECRET')
  })

  test('the event stream carries no secret while the target is added, checked and changed', async () => {
    const { sim, req } = await oneAgent()
    const r = await req('/v1/events')
    const reader = (r.body as ReadableStream<Uint8Array>).getReader()
    const dec = new TextDecoder()
    let text = ''
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        text += dec.decode(value)
      }
    })()
    expect((await req('/v1/targets', write(SECRET_TARGET))).status).toBe(201)
    expect((await req('/v1/targets', write({ ...SECRET_TARGET, rise: 1 }))).status).toBe(201)
    expect(await sim.runUntil(() => text.includes('event: health') && text.includes('"updated"'), 20_000)).toBeGreaterThanOrEqual(0)
    await reader.cancel()
    await reading
    expect(text).toContain('event: target')
    expect(text).not.toMatch(SECRETS)
  })

  test('the placeholder is refused: a client that GETs and POSTs back never replaces a secret with it', async () => {
    const { sa, req } = await oneAgent()
    await req('/v1/targets', write(SECRET_TARGET))
    const def = (await (await req('/v1/targets/api')).json()).target.definition
    const back = await req('/v1/targets', write(def))
    expect(back.status).toBe(400)
    const body = await back.json()
    expect(body.error).toBe('invalid target')
    expect(body.detail.join('\n')).toContain('target "api".headers.Authorization: "<redacted>" is what reads show in place of a secret; send the value itself or a reference')
    expect(body.detail.join('\n')).toContain('target "api".url: the password is "<redacted>"')
    const stored = sa.agent.node.state.target('api')
    expect(stored?.check.kind === 'http' && stored.check.headers.Authorization).toBe('Bearer SUPERSECRET')
  })
})

describe('a round-trippable API', () => {
  test('POSTing back what GET answers gives an identical definition (references and every optional field)', async () => {
    const { sa, req } = await oneAgent()
    const full = {
      id: 'full',
      url: 'https://api.example:8443/healthz?deep=1',
      method: 'post',
      headers: { Authorization: { env: 'API_TOKEN' }, 'X-Key': { file: '/run/secrets/key' }, Host: 'api.internal' },
      secret_headers: ['X-Key'],
      interval: '1m30s',
      timeout: '1500ms',
      rise: 4,
      fall: 5,
      expect: { status: [200, 204], body_contains: 'ok', max_latency: '250ms' },
      connection: 'new',
    }
    expect((await req('/v1/targets', write(full))).status).toBe(201)
    const first = (await (await req('/v1/targets/full')).json()).target.definition
    // The file form, with the names and duration strings POST takes; no internal fields.
    expect(first).toEqual({ ...full, method: 'POST', interval: '90s' })
    const stored = sa.agent.node.state.target('full')
    const again = await req('/v1/targets', write(first))
    expect(again.status).toBe(201)
    expect((await again.json()).replaced).toBe(true)
    expect((await (await req('/v1/targets/full')).json()).target.definition).toEqual(first)
    expect(sa.agent.node.state.target('full')).toEqual(stored!)
    // And a TCP target, with the defaults filled in.
    await req('/v1/targets', write({ id: 'db', tcp: '[::1]:5432' }))
    const db = (await (await req('/v1/targets/db')).json()).target.definition
    expect(db).toEqual({ id: 'db', tcp: '[::1]:5432', interval: '5s', timeout: '2s', rise: 2, fall: 3 })
    expect((await req('/v1/targets', write(db))).status).toBe(201)
  })
})

describe('--api-read-token', () => {
  test('every endpoint but GET /healthz needs the read or the write token; the read token does not write', async () => {
    const { req } = await oneAgent({ apiReadToken: 'reader-token' })
    expect((await req('/healthz')).status).toBe(200)
    for (const path of ['/v1/health', '/v1/members', '/v1/ownership', '/v1/targets/x', '/metrics', '/v1/events', '/v1/nothing']) {
      const r = await req(path)
      expect({ path, status: r.status }).toEqual({ path, status: 401 })
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="heck"')
      const body = await r.json()
      expect(body.error).toBe('unauthorized: this agent needs a token to read')
      expect(body.detail).toContain('--token TOKEN or HECK_TOKEN')
    }
    expect((await (await req('/v1/health', bearer('wrong'))).json()).error).toBe('unauthorized: wrong token')
    expect((await req('/v1/health', bearer('reader-token'))).status).toBe(200)
    expect((await req('/v1/health', bearer(SIM_TOKEN))).status).toBe(200)
    const m = await req('/metrics', bearer('reader-token'))
    expect(m.status).toBe(200)
    expect(await m.text()).toContain('heck_event_streams')
    const denied = await req('/v1/targets', write({ id: 'a', tcp: 'h:1' }, 'reader-token'))
    expect(denied.status).toBe(401)
    expect((await denied.json()).error).toBe('unauthorized: the read token does not allow writes')
    expect((await req('/v1/targets', write({ id: 'a', tcp: 'h:1' }))).status).toBe(201)
    const events = await req('/v1/events', bearer('reader-token'))
    expect(events.status).toBe(200)
    await (events.body as ReadableStream).cancel()
  })
})
