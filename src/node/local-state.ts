/**
 * StateStore for a cluster of one (Version 1): plain maps with the same
 * semantics the replicated registry has, so behaviour does not change when a
 * node joins a cluster. A file contributes targets; the API adds and removes
 * them. A removal through the API sticks until the file's entry itself changes.
 */
import type { Target } from '../config/types.ts'
import { ChangeSource, FileContributions, type HealthRecord, type RecordKind, type StateStore } from './state-store.ts'

const same = (a: Target | undefined, b: Target | undefined) => JSON.stringify(a) === JSON.stringify(b)

export class LocalState extends ChangeSource implements StateStore {
  private defs = new Map<string, Target>()
  private files = new FileContributions()
  private healthMap = new Map<string, HealthRecord>()
  private recs = new Map<RecordKind, Map<string, unknown>>()

  setFileTargets(contributor: string, targets: Target[]): void {
    const d = this.files.diff(contributor, targets) ?? { changed: targets, removed: [] }
    for (const t of d.changed) this.put(t)
    for (const id of d.removed) this.remove(id)
  }

  private put(t: Target): boolean {
    const had = this.defs.get(t.id)
    if (same(had, t)) return true
    this.defs.set(t.id, t)
    this.emit({ kind: 'target', id: t.id, action: had ? 'updated' : 'added' })
    return had !== undefined
  }

  async putTarget(t: Target): Promise<boolean> {
    return this.put(t)
  }

  async removeTarget(id: string): Promise<boolean> {
    return this.remove(id)
  }

  private remove(id: string): boolean {
    if (!this.defs.delete(id)) return false
    this.healthMap.delete(id)
    this.emit({ kind: 'target', id, action: 'removed' })
    return true
  }

  targets(): Target[] {
    return [...this.defs.values()]
  }

  target(id: string): Target | undefined {
    return this.defs.get(id)
  }

  observe(rec: HealthRecord): void {
    if (!this.defs.has(rec.id)) return // a late result for a removed target
    const previous = this.healthMap.get(rec.id)
    this.healthMap.set(rec.id, rec)
    this.emit({ kind: 'health', id: rec.id, record: rec, previous })
  }

  health(id: string): HealthRecord | undefined {
    return this.healthMap.get(id)
  }

  allHealth(): HealthRecord[] {
    return [...this.healthMap.values()]
  }

  async putRecord(kind: RecordKind, key: string, value: unknown): Promise<void> {
    const m = this.recs.get(kind) ?? new Map<string, unknown>()
    this.recs.set(kind, m)
    if (value === null) m.delete(key)
    else m.set(key, value)
    this.emit({ kind: 'record', recordKind: kind, key })
  }

  records(kind: RecordKind): Map<string, unknown> {
    return new Map(this.recs.get(kind) ?? [])
  }
}
