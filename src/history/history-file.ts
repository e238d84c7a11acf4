/**
 * The history file on disk, `DIR/history.sqlite`, and what can go wrong with it:
 * telling a damaged file (SQLite's SQLITE_CORRUPT, SQLITE_NOTADB) from trouble
 * with the place it lives (not writable, disk full, locked), saying which in one
 * line with the fix, and moving a damaged file aside with its -wal and -shm,
 * renamed with a timestamp and never deleted. Firefox does the same with a
 * corrupt places.sqlite (kept as places.sqlite.corrupt, a new one created);
 * SQLite's "How To Corrupt An SQLite Database File" lists the causes.
 */
import { existsSync, renameSync } from 'node:fs'
import { join } from 'node:path'

export const HISTORY_FILE = 'history.sqlite'

/** The files SQLite keeps beside a database; moved with it so the set can still be opened (sqlite3 .recover). */
const COMPANIONS = ['', '-wal', '-shm', '-journal']

export function historyPath(dataDir: string): string {
  return join(dataDir, HISTORY_FILE)
}

const codeOf = (err: unknown): string => {
  const e = err as { code?: unknown } | null
  return typeof e?.code === 'string' ? e.code : ''
}

export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))

/** The file itself is damaged: reading it again will fail again, so it must be moved aside. */
export function isDamaged(err: unknown): boolean {
  const code = codeOf(err)
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB'
}

/**
 * One line naming the data dir, what is wrong with it and the fix, for trouble that is
 * not the file's fault: permissions, a read-only mount, a full disk, a lock.
 */
export function describeStorageError(dataDir: string, err: unknown): string {
  const code = codeOf(err)
  const msg = messageOf(err)
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return `the disk holding --data-dir ${dataDir} is full (${msg}): free some space there or choose another --data-dir`
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code.startsWith('SQLITE_CANTOPEN') || code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return `--data-dir ${dataDir} is not writable (${msg}): make it writable by the user running heck (chown/chmod, or mount it read-write) or choose another --data-dir`
  }
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    return `--data-dir ${dataDir} is not a directory (${msg}): point --data-dir at a directory`
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return `${historyPath(dataDir)} is locked (${msg}): is another heck agent using --data-dir ${dataDir}? Give each agent its own`
  }
  return `history in --data-dir ${dataDir} failed (${msg})`
}

/** `history.sqlite.corrupt-20261203T101500Z`: sorts by time, and says why it is there. */
export function asideName(path: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '')
  let dest = `${path}.corrupt-${stamp}`
  // Two recoveries within a second must not overwrite the first one's files.
  for (let n = 2; COMPANIONS.some((s) => existsSync(dest + s)); n++) dest = `${path}.corrupt-${stamp}-${n}`
  return dest
}

/**
 * Renames the database and its -wal/-shm/-journal to `asideName(...)`, keeping SQLite's
 * suffixes, companions first: a -wal left behind would be replayed into the next database
 * opened at `path`, so if one cannot be moved this throws and the database stays where it
 * is. Call it while the damaged connection is still open, and close that afterwards:
 * SQLite deletes a database's -wal and -shm by name when its last connection closes (even
 * one that found the file damaged), which would throw away the WAL's recent writes, or
 * later the new database's. Renamed first, the names are gone and the data stays.
 */
export function moveAside(path: string, nowMs: number): string {
  const dest = asideName(path, nowMs)
  for (const s of [...COMPANIONS.slice(1), '']) if (existsSync(path + s)) renameSync(path + s, dest + s)
  return dest
}
