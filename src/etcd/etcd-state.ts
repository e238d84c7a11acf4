/**
 * The StateStore through etcd (consensus): the target registry and the health map
 * as keys under the cluster's prefix, with one total order (Raft) instead of the
 * gossip store's partial order. Reads are served from a local cache that the watch
 * (etcd-store.ts) keeps current; writes go to etcd.
 *
 * - `targets/ID`: the definition. An API write resolves once etcd committed it (the
 *   2xx promise of SPEC.md "What a 2xx promises"); it rejects with
 *   StoreUnavailableError when etcd cannot be reached. File contributions apply as
 *   diffs (the gossip store's semantics: an API removal sticks until the file's own
 *   entry changes); a diff etcd could not take is kept and retried on reconnect.
 * - `health/ID`: the HealthRecord as JSON. Only owners write, and only status changes
 *   and slow refreshes (node/results.ts). A write is a transaction that holds only
 *   while the writer's own member key is still under its lease (fencing: a node whose
 *   lease lapsed cannot write) and the record is the one the writer last saw (a newer
 *   owner's record is never overwritten by an older view).
 */
import { asTarget } from '../config/target-form.ts'
import type { Target } from '../config/types.ts'
import type { Logger } from '../seams/log.ts'
import { ChangeSource, FileContributions, StoreUnavailableError, type HealthRecord, type RecordKind, type StateStore } from '../node/state-store.ts'
import type { EtcdGateway, KeyValue } from './gateway.ts'

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

export interface EtcdStateOptions {
  gateway: EtcdGateway
  prefix: string
  log: Logger
  /** This node's member key and its lease, while it holds one; undefined when the lease lapsed. */
  fence(): { key: string; lease: string } | undefined
}

export class EtcdState extends ChangeSource implements StateStore {
  private readonly defs = new Map<string, Target>()
  private readonly healthMap = new Map<string, HealthRecord>()
  /** mod_revision of each health key as last seen: a write holds only if it is unchanged. */
  private readonly healthRev = new Map<string, number>()
  private readonly retired = new Map<string, number>()
  private readonly files = new FileContributions()
  /** File diffs etcd did not take yet, by id (the newest wins), retried by flush(). */
  private readonly pending = new Map<string, Target | null>()
  /** The health write in flight per target. */
  private readonly writing = new Map<string, Promise<void>>()

  constructor(private readonly o: EtcdStateOptions) {
    super()
  }

  private readonly recs = new Map<RecordKind, Map<string, unknown>>()

  /** `records/KIND/KEY`: small replicated records (silences), JSON. */
  async putRecord(kind: RecordKind, key: string, value: unknown): Promise<void> {
    const k = `${this.o.prefix}records/${kind}/${key}`
    if (value === null) await this.o.gateway.txn([], [{ del: { key: k } }])
    else await this.o.gateway.put(k, JSON.stringify(value))
    this.applyRecord(`${kind}/${key}`, value === null ? undefined : JSON.stringify(value))
  }

  records(kind: RecordKind): Map<string, unknown> {
    return new Map(this.recs.get(kind) ?? [])
  }

  /** `KIND/KEY` under `records/`, as etcd has it now; undefined = deleted. */
  applyRecord(path: string, value: string | undefined): void {
    const slash = path.indexOf('/')
    const kind = path.slice(0, slash)
    if (kind !== 'silence') return
    const key = path.slice(slash + 1)
    const m = this.recs.get(kind) ?? new Map<string, unknown>()
    this.recs.set(kind, m)
    const v = value === undefined ? undefined : safeJson(value)
    if (v === undefined) {
      if (!m.delete(key)) return
    } else if (same(m.get(key), v)) return
    else m.set(key, v)
    this.emit({ kind: 'record', recordKind: kind, key })
  }

  private key(kind: 'targets' | 'health', id: string): string {
    return `${this.o.prefix}${kind}/${id}`
  }

  setFileTargets(contributor: string, targets: Target[]): void {
    const d = this.files.diff(contributor, targets) ?? { changed: targets, removed: [] }
    for (const t of d.changed) if (!same(this.defs.get(t.id), t)) this.pending.set(t.id, t)
    for (const id of d.removed) this.pending.set(id, null)
    void this.flush()
  }

  /** Writes the file diffs still pending; called again on every reconnect. */
  async flush(): Promise<void> {
    for (const [id, t] of [...this.pending]) {
      try {
        if (t) await this.putTarget(t)
        else await this.removeTarget(id)
        if (this.pending.get(id) === t) this.pending.delete(id)
      } catch (e) {
        if (!(e instanceof StoreUnavailableError)) this.o.log('warn', 'etcd refused a targets-file change', { target: id, error: String(e) })
        return // unreachable: the next reconnect tries again
      }
    }
  }

  async putTarget(t: Target): Promise<boolean> {
    const had = this.defs.has(t.id)
    await this.o.gateway.put(this.key('targets', t.id), JSON.stringify(t))
    this.applyTarget(t.id, t)
    return had
  }

  async removeTarget(id: string): Promise<boolean> {
    const had = this.defs.has(id)
    await this.o.gateway.txn([], [{ del: { key: this.key('targets', id) } }, { del: { key: this.key('health', id) } }])
    this.applyTarget(id, undefined)
    return had
  }

  targets(): Target[] {
    return [...this.defs.values()]
  }

  target(id: string): Target | undefined {
    return this.defs.get(id)
  }

  observe(rec: HealthRecord): void {
    if (!this.defs.has(rec.id)) return
    // A record from an older ownership term than the one held is a stale writer's: as in
    // the gossip store's register order, it loses.
    const held = this.healthMap.get(rec.id)
    if (held && held.term > rec.term) return
    this.applyHealth(rec, undefined)
    // One write per target at a time: each must name the revision the one before it made.
    const prev = this.writing.get(rec.id) ?? Promise.resolve()
    const next = prev.then(() => this.writeHealth(rec))
    this.writing.set(rec.id, next)
    void next.then(() => {
      if (this.writing.get(rec.id) === next) this.writing.delete(rec.id)
    })
  }

  private async writeHealth(rec: HealthRecord): Promise<void> {
    const fence = this.o.fence()
    if (!fence) return // no lease: this node is not a member now, and must not write
    // A newer record arrived meanwhile (another owner): this one is stale.
    if (!same(this.healthMap.get(rec.id), rec)) return
    const key = this.key('health', rec.id)
    const rev = this.healthRev.get(rec.id) ?? 0
    try {
      const r = await this.o.gateway.txn(
        [
          { key: fence.key, target: 'LEASE', result: 'EQUAL', lease: fence.lease },
          rev > 0 ? { key, target: 'MOD', result: 'EQUAL', modRevision: rev } : { key, target: 'CREATE', result: 'EQUAL', createRevision: 0 },
        ],
        [{ put: { key, value: JSON.stringify(rec) } }],
      )
      // Refused: the lease lapsed, or another node wrote the record since; the watch brings what won.
      if (r.succeeded) this.healthRev.set(rec.id, r.revision)
      else this.o.log('debug', 'etcd health write fenced out', { target: rec.id })
    } catch (e) {
      this.o.log('debug', 'etcd health write failed', { target: rec.id, error: String(e) })
    }
  }

  health(id: string): HealthRecord | undefined {
    return this.healthMap.get(id)
  }

  retiredTerm(id: string): number {
    return this.retired.get(id) ?? 0
  }

  allHealth(): HealthRecord[] {
    return [...this.healthMap.values()]
  }

  /** A key under `targets/` or `health/` as etcd has it now (from the watch or a full read); undefined value = deleted. */
  applyKv(kind: 'targets' | 'health', id: string, kv: KeyValue | undefined): void {
    if (kind === 'targets') {
      const t = kv ? asTarget(id, safeJson(kv.value)) : undefined
      if (kv && !t) {
        this.o.log('warn', 'etcd holds a target this node cannot read; ignored', { target: id })
        return
      }
      this.applyTarget(id, t)
      return
    }
    if (!kv) {
      this.healthRev.delete(id)
      const had = this.healthMap.get(id)
      if (had) this.retired.set(id, Math.max(this.retired.get(id) ?? 0, had.term))
      this.healthMap.delete(id)
      return
    }
    const rec = safeJson(kv.value) as HealthRecord | undefined
    if (!rec || typeof rec !== 'object' || rec.id !== id || typeof rec.term !== 'number') return
    this.applyHealth(rec, kv.modRevision)
  }

  /** Everything under the prefix was read again (start, or the watch's revision compacted): forget what is gone. */
  replaceAll(targets: Map<string, KeyValue>, health: Map<string, KeyValue>): void {
    for (const id of [...this.defs.keys()]) if (!targets.has(id)) this.applyTarget(id, undefined)
    for (const id of [...this.healthMap.keys()]) if (!health.has(id)) this.applyKv('health', id, undefined)
    for (const [id, kv] of targets) this.applyKv('targets', id, kv)
    for (const [id, kv] of health) this.applyKv('health', id, kv)
  }

  private applyTarget(id: string, t: Target | undefined): void {
    const had = this.defs.get(id)
    if (!t) {
      if (!had) return
      this.defs.delete(id)
      const rec = this.healthMap.get(id)
      if (rec) this.retired.set(id, Math.max(this.retired.get(id) ?? 0, rec.term))
      this.healthMap.delete(id)
      this.emit({ kind: 'target', id, action: 'removed' })
      return
    }
    if (same(had, t)) return
    this.defs.set(id, t)
    this.emit({ kind: 'target', id, action: had ? 'updated' : 'added' })
  }

  private applyHealth(rec: HealthRecord, modRevision: number | undefined): void {
    if (modRevision !== undefined) this.healthRev.set(rec.id, modRevision)
    const previous = this.healthMap.get(rec.id)
    if (same(previous, rec)) return
    this.healthMap.set(rec.id, rec)
    this.emit({ kind: 'health', id: rec.id, record: rec, previous })
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s)
  } catch {
    return undefined
  }
}
