/**
 * The change stream of replicated state: listeners hear once of every target and
 * health record whose visible entries changed, however the change came (a local
 * write, a delta, a full state, a restored snapshot), and news listeners hear of
 * status changes (news.ts). A key's dots are its fingerprint, so a join that
 * changes nothing visible tells nobody. This is the one vocabulary of change the
 * layers above subscribe to.
 */
import type { Entry } from './dot-store.ts'
import { HEALTH_PREFIX, healthObservation } from './health-map.ts'
import { StatusNews } from './news.ts'
import { REGISTRY_PREFIX, type TargetView, regResolve } from './registry-map.ts'

/** A health observation as the poller reports it; extra fields travel along untouched. */
export interface HealthObservation {
  status: string
  since: number
  last: number
  /** Ownership term of the observing owner: higher terms fence out lower ones. */
  term: number
  owner: string
  /** The status before this one, when this observation is a change: news even where that one never arrived. */
  was?: string
  [k: string]: unknown
}

export type ChangeEvent =
  | { kind: 'target'; id: string; target: TargetView | undefined }
  | { kind: 'health'; id: string; health: HealthObservation | undefined }

export class ChangeStream {
  private readonly listeners = new Set<(e: ChangeEvent) => void>()
  private readonly newsListeners = new Set<() => void>()
  /** The dots last shown per key: its fingerprint. */
  private readonly shown = new Map<string, string>()
  private readonly status: StatusNews

  /** `entries` reads a key's current entries; `nowMs` is wall time (news ages by it). */
  constructor(private readonly entries: (key: string) => Entry[], nowMs: () => number) {
    this.status = new StatusNews(nowMs)
  }

  onChange(cb: (e: ChangeEvent) => void): () => void {
    this.listeners.add(cb)
    return () => this.listeners.delete(cb)
  }

  /** Calls `listener` on news (the delegate's attach subscribes membership's gossipSoon); returns the unsubscribe. */
  onNews(listener: () => void): () => void {
    this.newsListeners.add(listener)
    return () => this.newsListeners.delete(listener)
  }

  tellNews(): void {
    for (const l of this.newsListeners) l()
  }

  /** True when a delta carries a status different from the one shown here (news, not a refresh). */
  isNews(d: { store: Map<string, Entry[]> }): boolean {
    return this.status.inDelta(d)
  }

  /** Tells listeners about changed keys; returns true when one of them is a status change (news). */
  emit(keys: Iterable<string>): boolean {
    let urgent = false
    for (const k of keys) {
      const es = this.entries(k)
      const fp = es.map((e) => `${e.r}:${e.n}`).join(',')
      if ((this.shown.get(k) ?? '') === fp) continue
      if (fp) this.shown.set(k, fp)
      else this.shown.delete(k)
      let ev: ChangeEvent | undefined
      if (k.startsWith(REGISTRY_PREFIX)) {
        const id = k.slice(REGISTRY_PREFIX.length)
        ev = { kind: 'target', id, target: regResolve(es) }
      } else if (k.startsWith(HEALTH_PREFIX)) {
        const id = k.slice(HEALTH_PREFIX.length)
        const health = healthObservation(es) as HealthObservation | undefined
        ev = { kind: 'health', id, health }
        if (this.status.show(k, health)) urgent = true
      }
      if (ev) for (const l of this.listeners) l(ev)
    }
    return urgent
  }
}
