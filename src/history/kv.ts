/**
 * A small persistent key/value table in the history database, for state the
 * agent keeps across restarts that is not history: replicated snapshots, the
 * replica id. Values are bytes (text is stored as given and read back as UTF-8).
 */
import type { Database } from 'bun:sqlite'

export interface KvStore {
  get(key: string): Uint8Array | undefined
  put(key: string, value: Uint8Array | string): void
  delete(key: string): void
}

export function openKv(db: Database): KvStore {
  db.exec('CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL)')
  const get = db.prepare<{ value: Uint8Array | string }, [string]>('SELECT value FROM kv WHERE key = ?1')
  const put = db.prepare('INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
  const del = db.prepare('DELETE FROM kv WHERE key = ?1')
  return {
    get(key) {
      const row = get.get(key)
      if (!row) return undefined
      return typeof row.value === 'string' ? new TextEncoder().encode(row.value) : new Uint8Array(row.value)
    },
    put: (key, value) => void put.run(key, value),
    delete: (key) => void del.run(key),
  }
}
