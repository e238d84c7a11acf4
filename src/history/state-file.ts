/**
 * The durable half of the data dir, `DIR/state.sqlite`: what this node must not lose,
 * kept apart from the high-volume history. It holds
 * - a key/value table (the replica id, the last snapshot of the replicated state);
 * - a write-ahead journal of this node's acknowledged writes since that snapshot.
 * An API write is answered 2xx only once its journal entry is committed (SQLite WAL
 * with synchronous=FULL: the commit is on disk, a power cut included). Writes are
 * group-committed (Gray & Reuter's group commit; PostgreSQL's commit_delay): all that
 * arrived while the previous commit ran go in the next transaction, so one fsync
 * covers many writes. A checkpoint stores a new snapshot and drops the journal it
 * covers, in one transaction. A damaged file is moved aside (history-file.ts), and
 * the node starts empty and fetches the replicated state from its peers again.
 */
import { Database } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Registry } from '../metrics/registry.ts'
import type { Clock } from '../seams/clock.ts'
import type { Logger } from '../seams/log.ts'
import { describeStorageError, isDamaged, messageOf, moveAside } from './history-file.ts'
import { openKv, type KvStore } from './kv.ts'

export const STATE_FILE = 'state.sqlite'

/** What the replicated state keeps durable: a key/value table and a journal with group commit. */
export interface DurableState {
  readonly kv: KvStore
  /** Queues a journal entry; it is committed with the next group. */
  append(entry: Uint8Array): void
  /** Resolves once every entry appended so far is committed; rejects, saying why, if that failed. */
  durable(): Promise<void>
  /** The journal, oldest first: what was acknowledged since the last checkpoint. */
  entries(): Uint8Array[]
  /** Stores `snapshot` under `key` and drops the journal entries it covers (all appended so far), atomically. */
  checkpoint(key: string, snapshot: Uint8Array): void
}

export interface StateFileOptions {
  clock: Clock
  log: Logger
  metrics?: Registry
}

export class StateFile implements DurableState {
  readonly kv: KvStore
  private pending: Uint8Array[] = []
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = []
  private scheduled = false
  private closed = false
  private readonly appendStmt
  private readonly commits

  private constructor(private readonly db: Database, private readonly o: StateFileOptions) {
    db.exec('CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry BLOB NOT NULL)')
    this.kv = openKv(db)
    // Read every page now: a damaged file is found at start-up, not by a write later.
    db.query('SELECT count(*), sum(length(entry)) FROM journal').get()
    db.query('SELECT key, length(value) FROM kv').all()
    this.appendStmt = db.prepare('INSERT INTO journal (entry) VALUES (?1)')
    this.commits = o.metrics?.histogram('heck_state_commit_writes', 'Acknowledged writes per group commit of the durable state (state.sqlite).', [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024])
  }

  /**
   * Opens (or creates) `DIR/state.sqlite`. A damaged file is moved aside, logged once
   * with both names, and counted; the node then starts with an empty state. A data dir
   * that cannot hold the file at all throws, with the directory and the fix.
   */
  static open(dataDir: string, o: StateFileOptions): StateFile {
    const path = join(dataDir, STATE_FILE)
    try {
      mkdirSync(dataDir, { recursive: true })
      return new StateFile(StateFile.connect(path), o)
    } catch (e) {
      if (!isDamaged(e)) throw new Error(describeStorageError(dataDir, e))
      const aside = moveAside(path, o.clock.now())
      o.metrics?.counter('heck_state_recovered_total', 'Damaged state.sqlite files moved aside and replaced (the state is fetched from peers again).').inc()
      o.log('error', `${path} is damaged (${messageOf(e)}); moved it to ${aside} and started a new one: the replicated state will be fetched from peers, and writes acknowledged only here since its last snapshot are lost`, {})
      return new StateFile(StateFile.connect(path), o)
    }
  }

  /** An in-memory file, for tests. */
  static memory(o: StateFileOptions): StateFile {
    return new StateFile(new Database(':memory:'), o)
  }

  private static connect(path: string): Database {
    const db = new Database(path, { create: true, strict: true })
    try {
      db.exec('PRAGMA journal_mode = WAL')
      // FULL: each commit syncs the WAL, so an acknowledged write survives a power cut.
      db.exec('PRAGMA synchronous = FULL')
      return db
    } catch (e) {
      db.close(true)
      throw e
    }
  }

  append(entry: Uint8Array): void {
    if (this.closed) return
    this.pending.push(entry)
    this.schedule()
  }

  durable(): Promise<void> {
    if (this.pending.length === 0 && !this.scheduled) return Promise.resolve()
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  entries(): Uint8Array[] {
    this.flush()
    return this.db
      .query<{ entry: Uint8Array }, []>('SELECT entry FROM journal ORDER BY seq')
      .all()
      .map((r) => new Uint8Array(r.entry))
  }

  checkpoint(key: string, snapshot: Uint8Array): void {
    if (this.closed) return
    this.db.transaction(() => {
      this.insertPending()
      this.kv.put(key, snapshot)
      this.db.exec('DELETE FROM journal')
    })()
    this.settle()
  }

  /**
   * Moves `keys` from `old` (an earlier release kept them in history.sqlite) into this
   * file, where this file has none of them yet: a data dir carries over on upgrade.
   */
  adopt(old: KvStore, keys: readonly string[]): void {
    if (keys.some((k) => this.kv.get(k) !== undefined)) return
    for (const k of keys) {
      const v = old.get(k)
      if (v === undefined) continue
      this.kv.put(k, v)
      old.delete(k)
    }
  }

  close(): void {
    if (this.closed) return
    this.flush()
    this.closed = true
    this.db.close()
  }

  /** Commits on the next turn: everything appended until then shares the transaction. */
  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    this.o.clock.after(0, () => this.flush())
  }

  private insertPending(): number {
    const n = this.pending.length
    for (const e of this.pending) this.appendStmt.run(e)
    this.pending = []
    return n
  }

  /** Commits what is pending in one transaction and answers everyone waiting for it. */
  private flush(): void {
    this.scheduled = false
    if (this.closed) return
    let n = 0
    try {
      if (this.pending.length > 0) this.db.transaction(() => (n = this.insertPending()))()
    } catch (e) {
      const err = new Error(`could not make the write durable in ${STATE_FILE}: ${messageOf(e)}`)
      this.pending = []
      this.o.log('error', err.message, {})
      for (const w of this.waiters.splice(0)) w.reject(err)
      return
    }
    if (n > 0) this.commits?.observe(n)
    this.settle()
  }

  private settle(): void {
    for (const w of this.waiters.splice(0)) w.resolve()
  }
}

/** A DurableState in memory (a simulated data dir survives a simulated restart). */
export class MemoryState implements DurableState {
  private readonly map = new Map<string, Uint8Array>()
  private journal: Uint8Array[] = []
  readonly kv: KvStore = {
    get: (k) => this.map.get(k),
    put: (k, v) => void this.map.set(k, typeof v === 'string' ? new TextEncoder().encode(v) : v),
    delete: (k) => void this.map.delete(k),
  }
  append(entry: Uint8Array): void {
    this.journal.push(entry)
  }
  durable(): Promise<void> {
    return Promise.resolve()
  }
  entries(): Uint8Array[] {
    return [...this.journal]
  }
  checkpoint(key: string, snapshot: Uint8Array): void {
    this.kv.put(key, snapshot)
    this.journal = []
  }
}
