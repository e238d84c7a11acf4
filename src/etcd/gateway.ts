/**
 * etcd v3 over its JSON gateway (grpc-gateway; etcd 3.4 serves it at `/v3/…` on the
 * client port): `fetch` and nothing else. Chosen over the `etcd3` npm package (gRPC
 * through @grpc/grpc-js), which loads its .proto files from __dirname at run time,
 * so it breaks in the compiled binary copied alone, and whose HTTP/2 streaming has
 * open bugs under Bun. In the gateway's JSON, keys and values are base64, 64-bit
 * numbers are strings, and zero values are left out (a watch event without `type` is
 * a PUT; a txn compare on 0 omits the field).
 *
 * Several endpoints may be given; a request that cannot reach one (connection
 * refused, timeout) tries the next, and the one that answered is tried first after.
 */
import { StoreUnavailableError } from '../node/state-store.ts'

export interface KeyValue {
  key: string
  value: string
  createRevision: number
  modRevision: number
  /** Lease ids are 64-bit: kept as the decimal strings the gateway sends ('0' = none). */
  lease: string
}

export interface WatchEvent {
  type: 'put' | 'delete'
  kv: KeyValue
}

export type Compare =
  | { key: string; target: 'CREATE'; result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL'; createRevision: number }
  | { key: string; target: 'MOD'; result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL'; modRevision: number }
  | { key: string; target: 'LEASE'; result: 'EQUAL' | 'NOT_EQUAL'; lease: string }

export type Op = { put: { key: string; value: string; lease?: string } } | { del: { key: string; prefix?: boolean } }

const enc = (s: string) => Buffer.from(s, 'utf8').toString('base64')
const dec = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '')
const int = (s: unknown) => (typeof s === 'string' || typeof s === 'number' ? Number(s) : 0)

/** The end of the range holding every key that starts with `prefix`. */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix, 'utf8')
  for (let i = b.length - 1; i >= 0; i--) {
    if ((b[i] as number) < 0xff) {
      const out = b.subarray(0, i + 1)
      out[i] = (out[i] as number) + 1
      return out.toString('base64')
    }
  }
  return Buffer.from([0]).toString('base64')
}

type Raw = Record<string, unknown>

function kvOf(r: Raw): KeyValue {
  return { key: dec(r.key as string), value: dec(r.value as string), createRevision: int(r.create_revision), modRevision: int(r.mod_revision), lease: typeof r.lease === 'string' ? r.lease : '0' }
}

function compareOf(c: Compare): Raw {
  const base: Raw = { key: enc(c.key), target: c.target, result: c.result }
  if (c.target === 'CREATE') base.create_revision = String(c.createRevision)
  else if (c.target === 'MOD') base.mod_revision = String(c.modRevision)
  else base.lease = c.lease
  return base
}

function opOf(o: Op): Raw {
  if ('put' in o) return { request_put: { key: enc(o.put.key), value: enc(o.put.value), ...(o.put.lease && o.put.lease !== '0' ? { lease: o.put.lease } : {}) } }
  return { request_delete_range: { key: enc(o.del.key), ...(o.del.prefix ? { range_end: prefixEnd(o.del.key) } : {}) } }
}

export class EtcdGateway {
  private preferred = 0

  /** `endpoints`: "host:port" of etcd members' client URLs (http). */
  constructor(
    readonly endpoints: string[],
    private readonly timeoutMs = 3000,
  ) {
    if (endpoints.length === 0) throw new Error('etcd: no endpoints')
  }

  /** One unary call; tries each endpoint once, starting with the last that answered. */
  async call(path: string, body: Raw): Promise<Raw> {
    const errors: string[] = []
    for (let i = 0; i < this.endpoints.length; i++) {
      const at = (this.preferred + i) % this.endpoints.length
      const ep = this.endpoints[at] as string
      let res: Response
      try {
        res = await fetch(`http://${ep}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) })
      } catch (e) {
        const err = e as { name?: string; message?: string }
        errors.push(`${ep}: ${err.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (err.message ?? String(e))}`)
        continue
      }
      const text = await res.text()
      let json: Raw
      try {
        json = JSON.parse(text) as Raw
      } catch {
        errors.push(`${ep}: HTTP ${res.status}, not JSON`)
        continue
      }
      // No leader yet (an election), or the member lost quorum: another member may serve it.
      if (res.status >= 500 || (typeof json.error === 'string' && /no leader|timed out|not capable|unavailable/i.test(json.error))) {
        errors.push(`${ep}: ${String(json.error ?? json.message ?? `HTTP ${res.status}`)}`)
        continue
      }
      this.preferred = at
      if (!res.ok) throw new Error(`etcd ${path}: ${String(json.error ?? json.message ?? `HTTP ${res.status}`)}`)
      return json
    }
    throw new StoreUnavailableError(`etcd unreachable (${errors.join('; ')})`)
  }

  async range(key: string, o: { prefix?: boolean; revision?: number } = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
    const r = await this.call('/v3/kv/range', { key: enc(key), ...(o.prefix ? { range_end: prefixEnd(key) } : {}), ...(o.revision ? { revision: String(o.revision) } : {}) })
    const header = (r.header ?? {}) as Raw
    return { kvs: ((r.kvs ?? []) as Raw[]).map(kvOf), revision: int(header.revision) }
  }

  async put(key: string, value: string, lease?: string): Promise<number> {
    const r = await this.call('/v3/kv/put', { key: enc(key), value: enc(value), ...(lease && lease !== '0' ? { lease } : {}) })
    return int(((r.header ?? {}) as Raw).revision)
  }

  async txn(compare: Compare[], success: Op[], failure: Op[] = []): Promise<{ succeeded: boolean; revision: number }> {
    const r = await this.call('/v3/kv/txn', { compare: compare.map(compareOf), success: success.map(opOf), failure: failure.map(opOf) })
    return { succeeded: r.succeeded === true, revision: int(((r.header ?? {}) as Raw).revision) }
  }

  async grant(ttlS: number): Promise<string> {
    const r = await this.call('/v3/lease/grant', { TTL: String(ttlS) })
    const id = typeof r.ID === 'string' ? r.ID : ''
    if (!id || id === '0') throw new Error(`etcd lease grant: ${String(r.error ?? 'no lease id')}`)
    return id
  }

  /** One keepalive; resolves the TTL left (0: the lease is gone). The gateway streams; one answer is enough. */
  async keepAlive(lease: string): Promise<number> {
    const errors: string[] = []
    for (let i = 0; i < this.endpoints.length; i++) {
      const at = (this.preferred + i) % this.endpoints.length
      const ep = this.endpoints[at] as string
      const ac = new AbortController()
      const timer = setTimeout(() => ac.abort(), this.timeoutMs)
      try {
        const res = await fetch(`http://${ep}/v3/lease/keepalive`, { method: 'POST', body: JSON.stringify({ ID: lease }), signal: ac.signal })
        const line = await firstLine(res)
        const json = JSON.parse(line) as Raw
        const result = (json.result ?? json) as Raw
        if (json.error) throw new Error(String((json.error as Raw).message ?? json.error))
        this.preferred = at
        return int(result.TTL)
      } catch (e) {
        errors.push(`${ep}: ${e instanceof Error ? e.message : String(e)}`)
      } finally {
        clearTimeout(timer)
        ac.abort()
      }
    }
    throw new StoreUnavailableError(`etcd unreachable (${errors.join('; ')})`)
  }

  async revoke(lease: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: lease })
  }

  /**
   * Watches every key under `prefix` from `fromRevision`, calling `onEvents` per
   * answer. Resolves when the stream ends or `signal` aborts; rejects with
   * CompactedError when `fromRevision` is gone (the caller reads everything again).
   */
  async watch(prefix: string, fromRevision: number, signal: AbortSignal, onEvents: (events: WatchEvent[], revision: number) => void): Promise<void> {
    const ep = this.endpoints[this.preferred] as string
    const rotate = () => (this.preferred = (this.preferred + 1) % this.endpoints.length)
    let res: Response
    try {
      res = await fetch(`http://${ep}/v3/watch`, {
        method: 'POST',
        body: JSON.stringify({ create_request: { key: enc(prefix), range_end: prefixEnd(prefix), start_revision: String(fromRevision) } }),
        signal,
      })
    } catch (e) {
      rotate()
      throw e
    }
    if (!res.body) throw new Error('etcd watch: no body')
    const reader = res.body.getReader()
    const decoder = new TextDecoder()
    let buf = ''
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        buf += decoder.decode(value, { stream: true })
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl).trim()
          buf = buf.slice(nl + 1)
          if (!line) continue
          const json = JSON.parse(line) as Raw
          if (json.error) throw new Error(`etcd watch: ${String((json.error as Raw).message ?? json.error)}`)
          const result = (json.result ?? {}) as Raw
          if (int(result.compact_revision) > 0) throw new CompactedError(int(result.compact_revision))
          if (result.canceled) throw new Error(`etcd watch canceled: ${String(result.cancel_reason ?? '')}`)
          const events = ((result.events ?? []) as Raw[]).map((e) => ({ type: e.type === 'DELETE' ? 'delete' : 'put', kv: kvOf((e.kv ?? {}) as Raw) }) as WatchEvent)
          onEvents(events, int(((result.header ?? {}) as Raw).revision))
        }
      }
    } catch (e) {
      if (!(e instanceof CompactedError)) rotate()
      throw e
    } finally {
      reader.releaseLock()
    }
  }
}

/** The watch's start revision was compacted away: read everything again. */
export class CompactedError extends Error {
  constructor(readonly compactRevision: number) {
    super(`etcd compacted up to revision ${compactRevision}`)
    this.name = 'CompactedError'
  }
}

async function firstLine(res: Response): Promise<string> {
  if (!res.body) return await res.text()
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let buf = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (value) buf += decoder.decode(value, { stream: true })
    const nl = buf.indexOf('\n')
    if (nl >= 0) return buf.slice(0, nl)
    if (done) return buf
  }
}
