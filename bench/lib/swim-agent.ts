/**
 * A bare membership agent for bench/membership-vs-serf.ts, standing in for
 * `heck agent` until the lead wires membership into it: the startMembership facade
 * plus GET /v1/members and /metrics. Prints one JSON line per membership change
 * (the bench times these as they arrive). SIGTERM leaves gracefully; SIGKILL is a crash.
 *
 *   bun bench/lib/swim-agent.ts --name X --bind 127.0.0.1:P --http 127.0.0.1:Q [--join 127.0.0.1:S] [--profile lan] [--encrypt KEY]
 *
 * A failed join prints the error to stderr and exits 1.
 */
import { parseArgs } from 'node:util'
import { Registry } from '../../src/metrics/registry.ts'
import { startMembership } from '../../src/membership/runtime.ts'

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    bind: { type: 'string' },
    http: { type: 'string' },
    join: { type: 'string', multiple: true },
    profile: { type: 'string' },
    /** base64 key; repeatable, the first is the primary. */
    encrypt: { type: 'string', multiple: true },
    /** Overrides the profile's Lifeguard α (suspicionMult), for comparing settings. */
    'suspicion-mult': { type: 'string' },
  },
})
if (!values.name || !values.bind || !values.http) {
  console.error('usage: swim-agent --name X --bind HOST:PORT --http HOST:PORT [--join HOST:PORT] [--profile lan|local|wan]')
  process.exit(2)
}
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`)
const metrics = new Registry()
const [httpHost, httpPort] = values.http.split(':')
const h = await startMembership({
  name: values.name,
  bind: values.bind,
  join: values.join ?? [],
  retryJoin: [],
  joinTimeoutMs: 5000,
  retryIntervalMs: 1000,
  profile: (values.profile ?? 'lan') as 'lan',
  overrides: values['suspicion-mult'] ? { suspicionMult: Number(values['suspicion-mult']) } : undefined,
  keys: values.encrypt,
  meta: { http: values.http },
  metrics,
  log: (level, msg, fields) => {
    if (level === 'warn' || level === 'error') process.stderr.write(`${level} ${msg} ${JSON.stringify(fields ?? {})}\n`)
  },
})
h.on('change', (m, prev) => out({ ev: 'change', member: m.name, state: m.state, prev: prev ?? null }))
Bun.serve({
  hostname: httpHost,
  port: Number(httpPort),
  fetch(req) {
    const path = new URL(req.url).pathname
    if (path === '/v1/members') return Response.json(h.members())
    if (path === '/metrics') return new Response(metrics.render())
    return new Response('not found', { status: 404 })
  },
})
out({ ev: 'ready', name: h.name, addr: h.addr, members: h.members().map((m) => m.name) })
process.on('SIGTERM', async () => {
  await h.leave(2000)
  await h.shutdown()
  process.exit(0)
})
