/**
 * A small fake of the agent's HTTP API (SPEC.md "HTTP API") for TUI tests and
 * benchmarks: health, members, target detail, /metrics and the SSE event
 * stream, over N synthetic targets, optionally emitting health events at a
 * fixed rate. `POST /fake/flip?id=X` flips one target and emits its event.
 *
 *   bun test/tui/fake-api.ts --port 18080 --targets 10000 --events-per-sec 100
 */
import { parseArgs } from 'node:util'

export interface FakeApiOptions {
  port?: number
  targets?: number
  eventsPerSec?: number
  members?: number
  /** Name of the node answering (default node-1). */
  node?: string
  /** Explicit target ids (default farm-00000 ..). */
  ids?: string[]
}

export interface FakeApi {
  url: string
  port: number
  flip(id: string): void
  /** Sets a target's status, emitting a health event when it changes. */
  set(id: string, status: 'healthy' | 'unhealthy'): void
  stop(): void
}

type Status = 'healthy' | 'unhealthy' | 'unknown'

export function startFakeApi(opts: FakeApiOptions = {}): FakeApi {
  const n = opts.ids?.length ?? opts.targets ?? 20
  const memberCount = opts.members ?? 3
  const members = Array.from({ length: memberCount }, (_, i) => ({ name: `node-${i + 1}`, addr: `127.0.0.1:${7946 + i}`, state: 'alive', incarnation: 1, owned: 0 }))
  const nodeName = opts.node ?? 'node-1'
  const t0 = Date.now()
  const targets = Array.from({ length: n }, (_, i) => {
    const id = opts.ids?.[i] ?? `farm-${String(i).padStart(5, '0')}`
    const owner = members[i % memberCount]?.name ?? null
    if (members[i % memberCount]) (members[i % memberCount] as { owned: number }).owned++
    return { id, status: 'healthy' as Status, since: t0 - ((i * 7919) % 3_600_000), owner, last: { ok: true, latency_ms: 1 + ((i * 31) % 200), checked_at: t0, checker: owner ?? 'node-1' } as Record<string, unknown> }
  })
  const index = new Map(targets.map((t) => [t.id, t]))
  const transitions = new Map<string, Array<{ at: number; from: Status; to: Status }>>()
  let checks = 0
  let gossip = 0
  const subscribers = new Set<(event: string, data: unknown) => void>()
  const emit = (event: string, data: unknown) => {
    for (const s of subscribers) s(event, data)
  }

  const flip = (id: string) => {
    const t = index.get(id)
    if (!t) return
    const previous = t.status
    t.status = previous === 'unhealthy' ? 'healthy' : 'unhealthy'
    t.since = Date.now()
    const error = t.status === 'unhealthy' ? 'connect ECONNREFUSED (fake)' : undefined
    t.last = { ok: t.status === 'healthy', latency_ms: t.status === 'healthy' ? 3 : 2000, checked_at: t.since, checker: t.owner ?? 'node-1', ...(error ? { error } : {}) }
    const list = transitions.get(id) ?? []
    list.push({ at: t.since, from: previous, to: t.status })
    transitions.set(id, list)
    emit('health', { type: 'health', id, status: t.status, previous, since: t.since, checker: t.owner, ...(error ? { error } : {}) })
  }

  const enc = new TextEncoder()
  const server = Bun.serve({
    port: opts.port ?? 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    fetch(req) {
      const url = new URL(req.url)
      const p = url.pathname
      checks += 1
      if (p === '/v1/health') return Response.json({ node: nodeName, data_age_ms: 120, targets })
      if (p === '/v1/members') return Response.json({ node: nodeName, data_age_ms: 120, members })
      if (p === '/metrics') {
        checks += 50
        gossip += 4096
        return new Response(`# TYPE heck_checks_total counter\nheck_checks_total{result="ok"} ${checks}\nheck_checks_total{result="fail"} 3\nheck_gossip_bytes_total{direction="in"} ${gossip}\nheck_gossip_bytes_total{direction="out"} ${gossip}\n`)
      }
      if (p.startsWith('/v1/targets/')) {
        const id = decodeURIComponent(p.slice('/v1/targets/'.length))
        const t = index.get(id)
        if (!t) return Response.json({ error: 'no such target', detail: { id } }, { status: 404 })
        const recent = Array.from({ length: 20 }, (_, i) => ({ ok: i !== 17, latency_ms: 5 + ((i * 13) % 40), status_code: 200, checked_at: Date.now() - (20 - i) * 1000, checker: t.owner }))
        return Response.json({ node: 'node-1', target: { ...t, owners: members.map((m) => m.name), recent, transitions: transitions.get(id) ?? [], definition: { id, url: `http://127.0.0.1:9000/${id}`, interval: '1s', timeout: '800ms', rise: 2, fall: 3 } } })
      }
      if (p === '/fake/flip' && req.method === 'POST') {
        flip(url.searchParams.get('id') ?? '')
        return new Response('ok')
      }
      if (p === '/v1/events') {
        let send: ((event: string, data: unknown) => void) | undefined
        const stream = new ReadableStream<Uint8Array>({
          start(ctrl) {
            ctrl.enqueue(enc.encode(`event: hello\ndata: {"node":"node-1"}\n\n`))
            send = (event, data) => {
              try {
                ctrl.enqueue(enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`))
              } catch {
                if (send) subscribers.delete(send)
              }
            }
            subscribers.add(send)
          },
          cancel() {
            if (send) subscribers.delete(send)
          },
        })
        return new Response(stream, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } })
      }
      return Response.json({ error: 'no such endpoint' }, { status: 404 })
    },
  })

  let timer: ReturnType<typeof setInterval> | undefined
  if (opts.eventsPerSec && opts.eventsPerSec > 0) {
    // Emits in 10 ms batches so high rates do not need sub-millisecond timers.
    let due = 0
    let i = 0
    timer = setInterval(() => {
      due += (opts.eventsPerSec as number) / 100
      while (due >= 1) {
        due--
        // Skip the first 10 targets so tests that flip them see deterministic state.
        const id = targets[10 + ((i++ * 7) % Math.max(1, n - 10))]?.id
        if (id) flip(id)
      }
    }, 10)
  }

  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port as number,
    flip,
    set(id, status) {
      if (index.get(id) && index.get(id)?.status !== status) flip(id)
    },
    stop() {
      if (timer) clearInterval(timer)
      server.stop(true)
    },
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Bun.argv.slice(2), options: { port: { type: 'string' }, targets: { type: 'string' }, 'events-per-sec': { type: 'string' } } })
  const api = startFakeApi({ port: Number(values.port ?? 18080), targets: Number(values.targets ?? 20), eventsPerSec: Number(values['events-per-sec'] ?? 0) })
  console.log(`fake heck API on ${api.url}`)
}
