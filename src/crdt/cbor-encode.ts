/**
 * A small CBOR encoder (RFC 8949) for the value shapes replicated state ships:
 * integers, floats, strings, byte strings, arrays, string-keyed maps, booleans,
 * null and undefined. Decoding stays with cbor-x.
 *
 * It pairs with cbor-decode.ts (see there for why this layer does not use
 * cbor-x); its output also decodes with cbor-x unchanged.
 */

const utf8 = new TextEncoder()

class Out {
  buf = new Uint8Array(256)
  view = new DataView(this.buf.buffer)
  len = 0

  room(n: number): void {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  byte(b: number): void {
    this.room(1)
    this.buf[this.len++] = b
  }

  head(major: number, n: number): void {
    const m = major << 5
    if (n < 24) this.byte(m | n)
    else if (n < 0x100) {
      this.room(2)
      this.buf[this.len++] = m | 24
      this.buf[this.len++] = n
    } else if (n < 0x10000) {
      this.room(3)
      this.buf[this.len++] = m | 25
      this.view.setUint16(this.len, n)
      this.len += 2
    } else if (n < 0x100000000) {
      this.room(5)
      this.buf[this.len++] = m | 26
      this.view.setUint32(this.len, n)
      this.len += 4
    } else {
      this.room(9)
      this.buf[this.len++] = m | 27
      this.view.setUint32(this.len, Math.floor(n / 0x100000000))
      this.view.setUint32(this.len + 4, n >>> 0)
      this.len += 8
    }
  }

  text(v: string): void {
    // Short ASCII (ids, keys, field names) is the common case: write it directly.
    if (v.length < 24) {
      let ascii = true
      for (let i = 0; i < v.length && ascii; i++) ascii = v.charCodeAt(i) < 0x80
      if (ascii) {
        this.room(1 + v.length)
        this.buf[this.len++] = 0x60 | v.length
        for (let i = 0; i < v.length; i++) this.buf[this.len++] = v.charCodeAt(i)
        return
      }
    }
    const bytes = utf8.encode(v)
    this.head(3, bytes.length)
    this.room(bytes.length)
    this.buf.set(bytes, this.len)
    this.len += bytes.length
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'number':
        // Integers beyond 32 bits go as float64 (exact for safe integers), as cbor-x
        // itself does: its decoder turns 64-bit integers into BigInt.
        if (Number.isSafeInteger(v) && Math.abs(v) < 0x100000000) {
          if (v >= 0) this.head(0, v)
          else this.head(1, -1 - v)
        } else {
          this.room(9)
          this.buf[this.len++] = 0xfb
          this.view.setFloat64(this.len, v)
          this.len += 8
        }
        return
      case 'string':
        this.text(v)
        return
      case 'boolean':
        this.byte(v ? 0xf5 : 0xf4)
        return
      case 'undefined':
        this.byte(0xf7)
        return
      case 'object':
        if (v === null) this.byte(0xf6)
        else if (Array.isArray(v)) {
          this.head(4, v.length)
          for (const x of v) this.value(x)
        } else if (v instanceof Uint8Array) {
          this.head(2, v.length)
          this.room(v.length)
          this.buf.set(v, this.len)
          this.len += v.length
        } else if (v instanceof Map) {
          this.head(5, v.size)
          for (const [k, x] of v) {
            this.value(k)
            this.value(x)
          }
        } else {
          const keys = Object.keys(v)
          this.head(5, keys.length)
          for (const k of keys) {
            this.value(k)
            this.value((v as Record<string, unknown>)[k])
          }
        }
        return
      default:
        throw new TypeError(`cannot CBOR-encode a ${typeof v}`)
    }
  }
}

export function cborEncode(v: unknown): Uint8Array {
  const o = new Out()
  o.value(v)
  return o.buf.slice(0, o.len)
}
