/**
 * The live connection to the history database, and what keeps a bad file or a
 * bad disk from failing the agent. Every statement runs through read() or
 * write(). When SQLite says the file is damaged, at start-up or at run time,
 * the file is moved aside (history-file.ts), a new one is started, and the
 * small key/value table (replica id, cluster snapshot) is carried over as far
 * as it still reads; a write is then retried on the new file. When the data dir
 * itself is the trouble (not writable, disk full, locked), history is
 * unavailable: reads throw HistoryUnavailableError with the reason and the fix,
 * writes are dropped and counted, and the file is tried again every
 * reopenIntervalMs, so the agent checks on and heals when the disk does — a
 * crash loop under a supervisor would help no one. Mozilla Storage (Firefox's
 * places.sqlite.corrupt) handles a corrupt database the same way.
 */
import { Database } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import type { Registry } from '../metrics/registry.ts'
import type { Cancel, Clock } from '../seams/clock.ts'
import type { Logger } from '../seams/log.ts'
import { describeStorageError, historyPath, isDamaged, messageOf, moveAside } from './history-file.ts'
import { type HistorySql, openHistorySql } from './history-sql.ts'
import { type KvStore, openKv } from './kv.ts'

export interface HistoryDbOptions {
  clock: Clock
  /** Where recoveries and storage trouble are told, one line each. */
  log?: Logger
  /** Where heck_history_* metrics go. */
  metrics?: Registry
  /**
   * How often (ms) an unavailable history tries to open its file again. Shorter resumes
   * sooner once the disk is fixed; each try costs an open and, while it fails, nothing else
   * (the reason is logged once). Default 60,000.
   */
  reopenIntervalMs?: number
}

/** A history read that could not be answered; `message` says why and what to do. */
export class HistoryUnavailableError extends Error {
  override name = 'HistoryUnavailableError'
}

/** The open database, its statements and its key/value table. */
export interface Live {
  db: Database
  sql: HistorySql
  kv: KvStore
}

type Saved = Array<{ key: string; value: Uint8Array | string }>

/** Same storage complaint again within this long (ms) is counted, not logged. */
const REPEAT_LOG_MS = 10 * 60_000

function openLive(db: Database): Live {
  const sql = openHistorySql(db)
  const kv = openKv(db)
  // Reads the kv table's pages: a damaged schema or kv is found now, at start-up, rather
  // than by the agent's first read of its saved state.
  db.query('SELECT key, length(value) FROM kv').all()
  return { db, sql, kv }
}

export class HistoryDb {
  /** Reads and writes go here; a facade, so holders keep it across a move-aside. */
  readonly kv: KvStore
  private live: Live | null = null
  private reason: string | null = null
  private reopenTimer: Cancel | null = null
  private closed = false
  private lastLog = { msg: '', at: Number.NEGATIVE_INFINITY }
  private readonly log: Logger
  private readonly recovered
  private readonly errors
  private readonly reopenIntervalMs: number

  /**
   * Opens (creating if needed) `DIR/history.sqlite`. Never throws: a damaged file is moved
   * aside and replaced; a data dir it cannot use leaves history unavailable, logged.
   */
  static open(dataDir: string, opts: HistoryDbOptions): HistoryDb {
    const h = new HistoryDb(dataDir, opts)
    h.tryOpen('startup')
    return h
  }

  /** Wraps an open database (tests pass `new Database(':memory:')`); it has no file to move aside. */
  static wrap(db: Database, opts: HistoryDbOptions): HistoryDb {
    const h = new HistoryDb(null, opts)
    h.live = openLive(db)
    h.setAvailable()
    return h
  }

  private constructor(
    private readonly dataDir: string | null,
    private readonly opts: HistoryDbOptions,
  ) {
    this.log = opts.log ?? (() => {})
    this.reopenIntervalMs = opts.reopenIntervalMs ?? 60_000
    const m = opts.metrics
    this.recovered = m?.counter('heck_history_recovered_total', 'Damaged history files moved aside and replaced by a new one, by when the damage was found')
    this.errors = m?.counter('heck_history_errors_total', 'History reads answered without history and writes dropped, by op (read|write)')
    for (const op of ['read', 'write']) this.errors?.inc({ op }, 0)
    m?.gauge('heck_history_available', 'History database usable (1) or not (0; see the log for why)').collect(() => [[undefined, this.live ? 1 : 0]])
    const self = this
    this.kv = {
      get: (key) => self.guard('read', 'read saved state', (l) => l.kv.get(key)),
      put: (key, value) => void self.write('save state', (l) => l.kv.put(key, value)),
      delete: (key) => void self.write('delete saved state', (l) => l.kv.delete(key)),
    }
  }

  /** Why history is unavailable, or null when it is available. */
  get unavailableReason(): string | null {
    return this.live ? null : (this.reason ?? 'history is closed')
  }

  /** Runs a read. Throws HistoryUnavailableError (counted) when it cannot be answered. */
  read<T>(what: string, fn: (sql: HistorySql) => T): T {
    if (!this.live) {
      this.errors?.inc({ op: 'read' })
      throw new HistoryUnavailableError(this.unavailableReason as string)
    }
    try {
      return fn(this.live.sql)
    } catch (err) {
      this.errors?.inc({ op: 'read' })
      throw new HistoryUnavailableError(this.fail('read', what, err))
    }
  }

  /**
   * Runs a write; a damaged file is replaced and the write tried once more on the new one.
   * Returns undefined (counted, logged) when it could not be written. Never throws.
   */
  write<T>(what: string, fn: (live: Live) => T): T | undefined {
    return this.guard('write', what, fn)
  }

  private guard<T>(op: 'read' | 'write', what: string, fn: (live: Live) => T): T | undefined {
    for (let attempt = 0; attempt < 2 && this.live; attempt++) {
      try {
        return fn(this.live)
      } catch (err) {
        const damaged = isDamaged(err)
        this.fail(op, what, err)
        if (!damaged) break
      }
    }
    this.errors?.inc({ op })
    return undefined
  }

  /** Handles a failed statement: replaces a damaged file; returns the reason for the caller's answer. */
  private fail(op: 'read' | 'write', what: string, err: unknown): string {
    if (isDamaged(err)) return this.recover('runtime', err)
    const reason = this.dataDir === null ? `history ${what} failed: ${messageOf(err)}` : describeStorageError(this.dataDir, err)
    this.complain(op === 'read' ? reason : `${reason}; history writes are dropped until then`, what)
    return reason
  }

  /** Logs a storage complaint once, then again only when it changes or after REPEAT_LOG_MS. */
  private complain(reason: string, what: string): void {
    const now = this.opts.clock.monotonic()
    if (reason === this.lastLog.msg && now - this.lastLog.at < REPEAT_LOG_MS) return
    this.lastLog = { msg: reason, at: now }
    this.log('error', reason, { during: what })
  }

  /** Opens the file; a damaged one is moved aside and a new one opened in its place. */
  private tryOpen(when: 'startup' | 'runtime'): boolean {
    const dir = this.dataDir as string
    const path = historyPath(dir)
    let db: Database | null = null
    try {
      mkdirSync(dir, { recursive: true })
      db = new Database(path, { create: true })
      this.live = openLive(db)
      this.setAvailable()
      return true
    } catch (err) {
      if (isDamaged(err)) return this.replace(when, err, db, [])
      closeQuietly(db)
      this.setUnavailable(`${describeStorageError(dir, err)}; history is off until then (tried again every ${Math.round(this.reopenIntervalMs / 1000)} s)`, 'open')
      return false
    }
  }

  /**
   * Moves a damaged file aside and opens a new one at its place, carrying over the key/value
   * rows that still read. Returns the reason to give the read that found the damage.
   */
  private recover(when: 'runtime', err: unknown): string {
    const live = this.live
    if (!live) return this.unavailableReason as string
    let saved: Saved = []
    try {
      saved = live.db.query<Saved[number], []>('SELECT key, value FROM kv').all()
    } catch {
      // The damage reaches the saved state too: the node refetches it from its peers.
    }
    this.live = null
    if (this.dataDir === null) {
      closeQuietly(live.db)
      this.setUnavailable(`history database damaged (${messageOf(err)})`, 'recover')
      return this.unavailableReason as string
    }
    this.replace(when, err, live.db, saved)
    return `history unavailable for this answer: ${this.reason}`
  }

  /** `old` is the damaged file's connection, closed only once the files are renamed (see moveAside). */
  private replace(when: 'startup' | 'runtime', err: unknown, old: Database | null, saved: Saved): boolean {
    const path = historyPath(this.dataDir as string)
    let aside: string
    try {
      aside = moveAside(path, this.opts.clock.now())
    } catch (e) {
      // `old` stays open: closing it would delete whatever -wal/-shm did not move.
      this.setUnavailable(`history database ${path} is damaged (${messageOf(err)}) and could not be moved aside (${messageOf(e)}): move it away by hand; history is off until then`, 'recover')
      return false
    }
    closeQuietly(old)
    this.recovered?.inc({ when })
    let db: Database | null = null
    try {
      db = new Database(path, { create: true })
      this.live = openLive(db)
    } catch (e) {
      closeQuietly(db)
      this.setUnavailable(`moved the damaged ${path} aside to ${aside}, but a new one cannot be started: ${describeStorageError(this.dataDir as string, e)}`, 'recover')
      return false
    }
    let kept = 0
    for (const row of saved) {
      try {
        this.live.kv.put(row.key, row.value)
        kept++
      } catch {
        // Best effort: whatever is not carried over is refetched from peers.
      }
    }
    this.reason = `history database ${path} was damaged (${messageOf(err)}); moved it aside to ${aside} (with its -wal/-shm) and started a new one`
    this.log('error', this.reason, { file: path, moved_to: aside, when, saved_values_kept: kept })
    this.setAvailable()
    return true
  }

  private setAvailable(): void {
    this.reopenTimer?.()
    this.reopenTimer = null
  }

  private setUnavailable(reason: string, what: string): void {
    this.live = null
    this.reason = reason
    this.complain(reason, what)
    this.scheduleReopen()
  }

  private scheduleReopen(): void {
    if (this.closed || this.dataDir === null || this.reopenTimer) return
    this.reopenTimer = this.opts.clock.after(this.reopenIntervalMs, () => {
      this.reopenTimer = null
      if (this.closed || this.live) return
      if (this.tryOpen('runtime')) this.log('info', 'history database available again', { file: historyPath(this.dataDir as string) })
    })
  }

  /** Closes the connection and stops retrying. Idempotent; never throws. */
  close(): void {
    this.closed = true
    this.reopenTimer?.()
    this.reopenTimer = null
    const live = this.live
    this.live = null
    if (live) closeQuietly(live.db)
  }
}

/** Closes for real (statements finalized, WAL checkpointed), not deferred to garbage collection. */
function closeQuietly(db: Database | null): void {
  try {
    db?.close(true)
  } catch {
    try {
      db?.close(false)
    } catch {}
  }
}
