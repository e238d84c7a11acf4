/**
 * The values behind `{env: NAME}` and `{file: PATH}` header references (SPEC.md
 * "Secrets"), read on the checking node at check time: the replicated definition holds
 * the reference, and the value never leaves this module and the request it goes into.
 *
 * Environment variables are read at every check (a lookup in memory). Files are cached
 * per path for `fileTtlMs` (default 5 s) and then read again, whatever their mtime: a
 * rotated secret (a Kubernetes secret volume swaps a symlink, a vault agent rewrites the
 * file) is in use within that time, and a node reads each file at most once per TTL
 * however many targets and checks use it. Checks that arrive during a read share it.
 * A missing or failed read is cached the same way, so a broken reference costs one
 * syscall per TTL, not one per check. Trailing line breaks are trimmed (files written
 * by `echo` end in one); a value with a line break left inside, or an empty one, is an
 * error, as is a file over 64 KiB (a header value that big is a wrong path).
 */
import { readFile, stat } from 'node:fs/promises'
import type { SecretRef } from '../config/types.ts'
import type { Clock } from '../seams/clock.ts'

export type SecretValue = { ok: true; value: string } | { ok: false; error: string }

export interface SecretValuesOptions {
  /** This node's name: an error says on which node the variable or file is missing. */
  nodeName: string
  clock: Clock
  /** How long (ms) a file's content is used before it is read again. Shorter follows rotations sooner; longer reads less. Default 5000. */
  fileTtlMs?: number
  /** The environment to read; process.env by default (tests pass their own). */
  env?: Record<string, string | undefined>
}

/** A header value file above this size (bytes) is refused rather than read. */
const MAX_FILE_BYTES = 64 * 1024
/** Cached paths kept before expired entries are swept. */
const SWEEP_AT = 1024

export class SecretValues {
  private readonly files = new Map<string, { at: number; value: Promise<SecretValue> }>()
  private readonly ttlMs: number
  private readonly env: Record<string, string | undefined>

  constructor(private readonly o: SecretValuesOptions) {
    this.ttlMs = o.fileTtlMs ?? 5000
    this.env = o.env ?? process.env
  }

  /** The value behind a reference; never throws. The error names the variable or file and this node. */
  resolve(ref: SecretRef): SecretValue | Promise<SecretValue> {
    if ('env' in ref) {
      const v = this.env[ref.env]
      if (v === undefined) return { ok: false, error: `environment variable ${ref.env} is not set on node ${this.o.nodeName}` }
      return this.check(v, `environment variable ${ref.env}`)
    }
    const now = this.o.clock.monotonic()
    const hit = this.files.get(ref.file)
    if (hit && now - hit.at < this.ttlMs) return hit.value
    if (this.files.size >= SWEEP_AT) for (const [p, e] of this.files) if (now - e.at >= this.ttlMs) this.files.delete(p)
    const value = this.read(ref.file)
    this.files.set(ref.file, { at: now, value })
    return value
  }

  private async read(path: string): Promise<SecretValue> {
    const where = `file ${path}`
    const node = this.o.nodeName
    try {
      const st = await stat(path)
      if (!st.isFile()) return { ok: false, error: `${where} on node ${node} is not a regular file` }
      if (st.size > MAX_FILE_BYTES) return { ok: false, error: `${where} on node ${node} is ${st.size} bytes; a header value file holds at most ${MAX_FILE_BYTES}` }
      return this.check(await readFile(path, 'utf8'), where)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, error: `${where} does not exist on node ${node}` }
      if (code === 'EACCES' || code === 'EPERM') return { ok: false, error: `${where} is not readable on node ${node} (permission denied)` }
      return { ok: false, error: `cannot read ${where} on node ${node}: ${e instanceof Error ? e.message : String(e)}` }
    }
  }

  private check(raw: string, where: string): SecretValue {
    const value = raw.replace(/[\r\n]+$/, '')
    if (value === '') return { ok: false, error: `${where} is empty on node ${this.o.nodeName}` }
    if (/[\r\n\0]/.test(value)) return { ok: false, error: `${where} on node ${this.o.nodeName} holds a line break or NUL inside; a header value is one line` }
    return { ok: true, value }
  }
}
