/**
 * A small, strict CBOR decoder (RFC 8949) for replicated-state messages:
 * unsigned/negative integers, byte and text strings, arrays, maps (to plain
 * objects with string keys), false/true/null/undefined and floats. Definite
 * lengths only; tags, indefinite lengths and other simple values are refused.
 * Every length is checked against the bytes left and nesting is capped, so a
 * hostile packet costs at most its own size. Returns a result, never throws.
 *
 * Why not cbor-x's decoder: under Bun, cbor-x loads the native cbor-extract
 * addon for strings, which returned non-strings ("string.slice is not a
 * function") and corrupted the heap — the process later died with SIGSEGV or
 * abort() in unrelated code (bench/crdt.ts churn, 400-key deltas). Setting
 * CBOR_NATIVE_ACCELERATION_DISABLED=true before cbor-x loads avoids it; this
 * layer does not depend on that.
 */

export type CborResult = { ok: true; value: unknown } | { ok: false; error: string }

const MAX_DEPTH = 32
const utf8 = new TextDecoder('utf-8', { fatal: true })

class Bad extends Error {}

class In {
  pos = 0
  view: DataView
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  need(n: number): void {
    if (n > this.buf.length - this.pos) throw new Bad('truncated')
  }

  arg(info: number): number {
    if (info < 24) return info
    if (info === 24) {
      this.need(1)
      return this.buf[this.pos++] as number
    }
    if (info === 25) {
      this.need(2)
      const v = this.view.getUint16(this.pos)
      this.pos += 2
      return v
    }
    if (info === 26) {
      this.need(4)
      const v = this.view.getUint32(this.pos)
      this.pos += 4
      return v
    }
    if (info === 27) {
      this.need(8)
      const hi = this.view.getUint32(this.pos)
      const lo = this.view.getUint32(this.pos + 4)
      this.pos += 8
      if (hi >= 0x200000) throw new Bad('integer beyond 2^53')
      return hi * 0x100000000 + lo
    }
    throw new Bad('indefinite or reserved length')
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new Bad('nested too deep')
    this.need(1)
    const ib = this.buf[this.pos++] as number
    const major = ib >> 5
    const info = ib & 31
    switch (major) {
      case 0:
        return this.arg(info)
      case 1:
        return -1 - this.arg(info)
      case 2: {
        const n = this.arg(info)
        this.need(n)
        const out = this.buf.slice(this.pos, this.pos + n)
        this.pos += n
        return out
      }
      case 3: {
        const n = this.arg(info)
        this.need(n)
        const s = this.buf.subarray(this.pos, this.pos + n)
        this.pos += n
        try {
          return utf8.decode(s)
        } catch {
          throw new Bad('invalid UTF-8')
        }
      }
      case 4: {
        const n = this.arg(info)
        // Each element takes at least one byte: a length beyond the rest is a lie.
        this.need(n)
        const out = new Array<unknown>(n)
        for (let i = 0; i < n; i++) out[i] = this.value(depth + 1)
        return out
      }
      case 5: {
        const n = this.arg(info)
        this.need(2 * n)
        const out: Record<string, unknown> = {}
        for (let i = 0; i < n; i++) {
          const k = this.value(depth + 1)
          if (typeof k !== 'string' || k === '__proto__') throw new Bad('map key is not a plain string')
          out[k] = this.value(depth + 1)
        }
        return out
      }
      case 7:
        return this.simple(info)
      default:
        throw new Bad('tags are not accepted')
    }
  }

  simple(info: number): unknown {
    switch (info) {
      case 20:
        return false
      case 21:
        return true
      case 22:
        return null
      case 23:
        return undefined
      case 25: {
        this.need(2)
        const v = half(this.view.getUint16(this.pos))
        this.pos += 2
        return v
      }
      case 26: {
        this.need(4)
        const v = this.view.getFloat32(this.pos)
        this.pos += 4
        return v
      }
      case 27: {
        this.need(8)
        const v = this.view.getFloat64(this.pos)
        this.pos += 8
        return v
      }
      default:
        throw new Bad('unsupported simple value')
    }
  }
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1
  const e = (h >> 10) & 0x1f
  const f = h & 0x3ff
  if (e === 0) return s * 2 ** -14 * (f / 1024)
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY
  return s * 2 ** (e - 15) * (1 + f / 1024)
}

export function cborDecode(buf: Uint8Array): CborResult {
  const r = new In(buf)
  try {
    const value = r.value(0)
    if (r.pos !== buf.length) return { ok: false, error: 'trailing bytes' }
    return { ok: true, value }
  } catch (e) {
    if (e instanceof Bad) return { ok: false, error: e.message }
    return { ok: false, error: 'malformed CBOR' }
  }
}
