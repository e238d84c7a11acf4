/**
 * AES-256-GCM sealing for every packet and stream frame, with a keyring so keys can
 * rotate in a running cluster (memberlist's keyring: one primary encrypts, every key
 * in the ring is tried for decryption). Sync node:crypto keeps the packet path
 * synchronous. Layout: [0x01 kind][12-byte random nonce][ciphertext][16-byte tag].
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

export const SEALED_KIND = 0x01
const NONCE_BYTES = 12
const TAG_BYTES = 16
/** Bytes sealing adds to a plaintext: kind + nonce + tag. */
export const SEAL_OVERHEAD_BYTES = 1 + NONCE_BYTES + TAG_BYTES

/** A fresh random 32-byte key, base64: for `heck keygen` and `--encrypt`. */
export function generateKey(): string {
  return Buffer.from(randomBytes(32)).toString('base64')
}

/** Parses a base64 key; throws with a clear message on anything but 32 bytes. */
export function parseKey(b64: string): Uint8Array {
  const raw = Buffer.from(b64.trim(), 'base64')
  if (raw.length !== 32) throw new Error(`encryption key must be 32 bytes of base64 (got ${raw.length} bytes)`)
  return new Uint8Array(raw)
}

export class Keyring {
  private readonly keys: Uint8Array[]

  /** `keys[0]` is the primary used to encrypt; all are tried to decrypt. */
  constructor(keys: Uint8Array[]) {
    if (keys.length === 0) throw new Error('keyring needs at least one key')
    for (const k of keys) if (k.length !== 32) throw new Error('AES-256 keys are 32 bytes')
    this.keys = keys.slice()
  }

  static fromBase64(keys: string[]): Keyring {
    return new Keyring(keys.map(parseKey))
  }

  seal(plain: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES)
    const c = createCipheriv('aes-256-gcm', this.keys[0] as Uint8Array, nonce)
    c.setAAD(Uint8Array.of(SEALED_KIND))
    const body = c.update(plain)
    const fin = c.final()
    const tag = c.getAuthTag()
    const out = new Uint8Array(1 + NONCE_BYTES + body.length + fin.length + TAG_BYTES)
    out[0] = SEALED_KIND
    out.set(nonce, 1)
    out.set(body, 1 + NONCE_BYTES)
    out.set(fin, 1 + NONCE_BYTES + body.length)
    out.set(tag, out.length - TAG_BYTES)
    return out
  }

  /** The plaintext, or undefined when no key in the ring authenticates it. */
  open(sealed: Uint8Array): Uint8Array | undefined {
    if (sealed.length < SEAL_OVERHEAD_BYTES || sealed[0] !== SEALED_KIND) return undefined
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES)
    const body = sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)
    const tag = sealed.subarray(sealed.length - TAG_BYTES)
    for (const key of this.keys) {
      try {
        const d = createDecipheriv('aes-256-gcm', key, nonce)
        d.setAAD(Uint8Array.of(SEALED_KIND))
        d.setAuthTag(tag)
        const a = d.update(body)
        const b = d.final()
        const out = new Uint8Array(a.length + b.length)
        out.set(a, 0)
        out.set(b, a.length)
        return out
      } catch {
        // wrong key or tampered: try the next key
      }
    }
    return undefined
  }
}
