/**
 * The gossip StateStore: the target registry and the health map over the
 * delta-CRDT ReplicatedState (src/crdt), what a node of a gossip cluster reads and
 * writes. Each node's targets file is its own contribution
 * (contributor = node name); the API writes as the shared contributor `api`, so
 * a file that drops a target never removes what the API added, while an API
 * DELETE removes every contribution. Definitions arriving from peers pass the
 * same validation as the file and the API (asTarget) before the poller sees them:
 * a peer running other code must not crash this one.
 */
import type { CheckResult, Status, Target } from '../config/types.ts'
import { asTarget } from '../config/target-form.ts'
import { asIncident } from '../alerts/incident.ts'
import { asFlapState } from '../alerts/flap.ts'
import type { HealthObservation, ReplicatedState, TargetView } from '../crdt/replicated-state.ts'
import { ChangeSource, FileContributions, type HealthRecord, type RecordKind, type StateStore } from '../node/state-store.ts'

/** The contributor name API writes use, shared by every node. */
export const API_CONTRIBUTOR = 'api'

/**
 * Replicated records other than targets (silences) ride in the registry map under keys
 * `~KIND~KEY`: `~` is outside target ids, so they never meet a target, and they get the
 * registry's merge and delete semantics (last write wins per key, deletes by tombstone).
 */
const RECORD_PREFIX = '~'
const recordKey = (kind: RecordKind, key: string) => `${RECORD_PREFIX}${kind}~${key}`
function splitRecordKey(id: string): [RecordKind, string] | undefined {
  const m = /^~([a-z]+)~(.+)$/.exec(id)
  return m && m[1] === 'silence' ? [m[1], m[2] as string] : undefined
}

const STATUSES = new Set<Status>(['healthy', 'unhealthy', 'unknown'])
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function asRecord(id: string, o: HealthObservation | undefined): HealthRecord | undefined {
  if (!o || !STATUSES.has(o.status as Status) || typeof o.owner !== 'string') return undefined
  const r = o.result
  const last = isObj(r) && typeof r.ok === 'boolean' && typeof r.checked_at === 'number' ? (r as unknown as CheckResult) : null
  const incident = asIncident(o.incident)
  const flap = o.flap === undefined ? undefined : asFlapState(o.flap)
  const c = o.confirmation
  const confirmation = isObj(c) && typeof c.at === 'number' && isObj(c.saw) && typeof c.outcome === 'string' ? (c as unknown as HealthRecord['confirmation']) : undefined
  return { id, status: o.status as Status, since: Number(o.since) || 0, owner: o.owner, last, term: Number(o.term) || 0, ...(incident ? { incident } : {}), ...(flap ? { flap } : {}), ...(confirmation ? { confirmation } : {}) }
}

export class GossipStateStore extends ChangeSource implements StateStore {
  private defs = new Map<string, Target>()
  private healthCache = new Map<string, HealthRecord>()
  private files = new FileContributions()
  private recs = new Map<RecordKind, Map<string, unknown>>()

  /**
   * `durable` resolves once this node's writes so far are as safe as it promises (the
   * journal committed, with a data dir); API writes answer after it.
   */
  constructor(
    readonly rs: ReplicatedState,
    private readonly durable: () => Promise<void> = () => Promise.resolve(),
    private readonly onInvalid: (id: string) => void = () => {},
  ) {
    super()
    for (const [id, v] of rs.targets()) if (!this.cacheRecord(id, v)) this.cacheTarget(id, v)
    for (const [id, o] of rs.allHealth()) {
      const rec = asRecord(id, o)
      if (rec) this.healthCache.set(id, rec)
    }
    rs.onChange((e) => {
      if (e.kind === 'target') {
        if (this.cacheRecord(e.id, e.target)) return
        const had = this.defs.has(e.id)
        const now = this.cacheTarget(e.id, e.target)
        if (now) this.emit({ kind: 'target', id: e.id, action: had ? 'updated' : 'added' })
        else if (had) {
          this.healthCache.delete(e.id)
          this.emit({ kind: 'target', id: e.id, action: 'removed' })
        }
      } else {
        const previous = this.healthCache.get(e.id)
        const rec = asRecord(e.id, e.health)
        if (!rec) {
          this.healthCache.delete(e.id)
          return
        }
        this.healthCache.set(e.id, rec)
        this.emit({ kind: 'health', id: e.id, record: rec, previous })
      }
    })
  }

  /** A record's key: cached (and announced) here, never taken for a target. */
  private cacheRecord(id: string, v: TargetView | undefined): boolean {
    if (!id.startsWith(RECORD_PREFIX)) return false
    const k = splitRecordKey(id)
    if (!k) return true // a kind this node does not know (a newer peer): ignored
    const m = this.recs.get(k[0]) ?? new Map<string, unknown>()
    this.recs.set(k[0], m)
    if (v) m.set(k[1], v.def)
    else m.delete(k[1])
    this.emit({ kind: 'record', recordKind: k[0], key: k[1] })
    return true
  }

  async putRecord(kind: RecordKind, key: string, value: unknown): Promise<void> {
    if (value === null) this.rs.removeTarget(recordKey(kind, key))
    else this.rs.putTarget(API_CONTRIBUTOR, recordKey(kind, key), value)
    await this.durable()
  }

  records(kind: RecordKind): Map<string, unknown> {
    return new Map(this.recs.get(kind) ?? [])
  }

  private cacheTarget(id: string, v: TargetView | undefined): boolean {
    if (!v) {
      this.defs.delete(id)
      return false
    }
    const t = asTarget(id, v.def)
    if (!t) {
      this.onInvalid(id)
      this.defs.delete(id)
      return false
    }
    this.defs.set(id, t)
    return true
  }

  setFileTargets(contributor: string, targets: Target[]): void {
    const d = this.files.diff(contributor, targets)
    if (!d) {
      // First load (or after a restart): the file is this contributor's whole truth.
      this.rs.setContribution(contributor, targets.map((t) => ({ id: t.id, def: t })))
      return
    }
    for (const t of d.changed) this.rs.putTarget(contributor, t.id, t)
    for (const id of d.removed) this.rs.removeContribution(contributor, id)
  }

  async putTarget(t: Target): Promise<boolean> {
    const had = this.defs.has(t.id)
    this.rs.putTarget(API_CONTRIBUTOR, t.id, t)
    await this.durable()
    return had
  }

  async removeTarget(id: string): Promise<boolean> {
    if (!this.defs.has(id)) return false
    const removed = this.rs.removeTarget(id)
    await this.durable()
    return removed
  }

  targets(): Target[] {
    return [...this.defs.values()]
  }

  target(id: string): Target | undefined {
    return this.defs.get(id)
  }

  observe(rec: HealthRecord): void {
    if (!this.defs.has(rec.id)) return
    const before = this.healthCache.get(rec.id)?.status
    this.rs.observe(rec.id, {
      status: rec.status,
      since: rec.since,
      last: rec.last?.checked_at ?? 0,
      term: rec.term,
      owner: rec.owner,
      result: rec.last,
      ...(rec.incident ? { incident: rec.incident } : {}),
      ...(rec.flap ? { flap: rec.flap } : {}),
      ...(rec.confirmation ? { confirmation: rec.confirmation } : {}),
      // A change says what it changed from, so a replica that never got the previous record still treats it as news.
      ...(before !== undefined && before !== rec.status ? { was: before } : {}),
    })
  }

  health(id: string): HealthRecord | undefined {
    return this.healthCache.get(id)
  }

  retiredTerm(id: string): number {
    return this.rs.healthTerm(id)
  }

  /** Health of defined targets: deltas join per key, so a record may arrive before its target's definition. */
  allHealth(): HealthRecord[] {
    const out: HealthRecord[] = []
    for (const rec of this.healthCache.values()) if (this.defs.has(rec.id)) out.push(rec)
    return out
  }
}
