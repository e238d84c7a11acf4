/**
 * A strict CBOR reader (RFC 8949 subset) for untrusted bytes: every byte that
 * arrives from the wire (SWIM packets, replicated-state deltas and snapshots) is
 * decoded here, and cbor-write.ts encodes with cbor-x. It admits only what heck
 * sends: integers, byte and text strings, arrays, string-keyed maps, booleans,
 * null, undefined and 32/64-bit floats, with definite lengths, bounded nesting
 * and valid UTF-8; tags (which make cbor-x build dates, sets, records and other
 * objects) and indefinite lengths are refused, and every count is checked
 * against the bytes left, so a hostile packet costs at most its own size.
 *
 * Why not cbor-x's decoder: in a checkout it loads the optional native
 * `cbor-extract` addon, and fuzzing mutated packets through that crashed the Bun
 * 1.4.5 process (SIGSEGV/abort, not an exception; it corrupted the heap in the
 * gossip simulation). The CLI and tests turn the addon off, but a hostile packet
 * must not depend on an environment variable being set.
 */

export type ReadResult = { ok: true; value: unknown } | { ok: false; reason: 'truncated' | 'malformed' }

const utf8 = new TextDecoder('utf-8', { fatal: true })
/** Default nesting bound: a replicated target definition sits about 11 levels deep in its envelope. */
export const DEFAULT_MAX_DEPTH = 24

class Stop extends Error {
  constructor(readonly reason: 'truncated' | 'malformed') {
    super(reason)
  }
}

/** Decodes exactly one item filling `buf`; never throws. Byte strings are views into `buf`. */
export function readCbor(buf: Uint8Array, maxDepth = DEFAULT_MAX_DEPTH): ReadResult {
  try {
    const r = new Reader(buf, maxDepth)
    const value = r.item(0)
    if (r.pos !== buf.length) return { ok: false, reason: 'malformed' }
    return { ok: true, value }
  } catch (e) {
    return { ok: false, reason: e instanceof Stop ? e.reason : 'malformed' }
  }
}

class Reader {
  pos = 0
  private readonly view: DataView

  constructor(
    private readonly buf: Uint8Array,
    private readonly maxDepth: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Stop('truncated')
  }

  /** The head's argument for additional info `ai` (already past the initial byte). */
  private arg(ai: number): number {
    if (ai < 24) return ai
    if (ai === 24) {
      this.need(1)
      return this.buf[this.pos++] as number
    }
    if (ai === 25) {
      this.need(2)
      const v = this.view.getUint16(this.pos)
      this.pos += 2
      return v
    }
    if (ai === 26) {
      this.need(4)
      const v = this.view.getUint32(this.pos)
      this.pos += 4
      return v
    }
    if (ai === 27) {
      this.need(8)
      const v = this.view.getUint32(this.pos) * 0x100000000 + this.view.getUint32(this.pos + 4)
      this.pos += 8
      return v
    }
    throw new Stop('malformed') // reserved, or indefinite length
  }

  item(depth: number): unknown {
    if (depth > this.maxDepth) throw new Stop('malformed')
    this.need(1)
    const ib = this.buf[this.pos++] as number
    const major = ib >> 5
    const ai = ib & 0x1f
    switch (major) {
      case 0:
        return this.arg(ai)
      case 1:
        return -1 - this.arg(ai)
      case 2:
      case 3: {
        const len = this.arg(ai)
        this.need(len)
        const start = this.pos
        this.pos += len
        if (major === 3 && len <= 64) {
          // Short ASCII (names, addresses, metadata) is the common case: skip the decoder.
          let str = ''
          let ascii = true
          for (let i = start; i < start + len; i++) {
            const c = this.buf[i] as number
            if (c >= 0x80) {
              ascii = false
              break
            }
            str += String.fromCharCode(c)
          }
          if (ascii) return str
        }
        const bytes = this.buf.subarray(start, start + len)
        return major === 2 ? bytes : utf8.decode(bytes)
      }
      case 4: {
        const n = this.arg(ai)
        // Every item takes at least one byte: a longer count is a lie.
        if (n > this.buf.length - this.pos) throw new Stop('truncated')
        const out: unknown[] = new Array(n)
        for (let i = 0; i < n; i++) out[i] = this.item(depth + 1)
        return out
      }
      case 5: {
        const n = this.arg(ai)
        if (n * 2 > this.buf.length - this.pos) throw new Stop('truncated')
        // No prototype: a "__proto__" key stays an ordinary entry.
        const out: Record<string, unknown> = Object.create(null)
        for (let i = 0; i < n; i++) {
          const k = this.item(depth + 1)
          if (typeof k !== 'string') throw new Stop('malformed')
          out[k] = this.item(depth + 1)
        }
        return out
      }
      case 7: {
        if (ai === 20) return false
        if (ai === 21) return true
        if (ai === 22) return null
        if (ai === 23) return undefined
        if (ai === 26) {
          this.need(4)
          const v = this.view.getFloat32(this.pos)
          this.pos += 4
          return v
        }
        if (ai === 27) {
          this.need(8)
          const v = this.view.getFloat64(this.pos)
          this.pos += 8
          return v
        }
        throw new Stop('malformed')
      }
      default:
        throw new Stop('malformed') // tags
    }
  }
}
