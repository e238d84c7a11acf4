/**
 * AES-256-GCM sealing for every packet and stream frame, with a keyring so keys can
 * rotate in a running cluster (memberlist's keyring: one primary encrypts, every key
 * in the ring is tried for decryption). Sync node:crypto keeps the packet path
 * synchronous.
 *
 * Layout (kind 0x02): [0x02][8-byte boot id][4-byte envelope number][ciphertext][16-byte tag].
 * The 12 bytes after the kind are the GCM nonce, so they are authenticated with the rest
 * (a changed byte fails the tag) and cost nothing extra on the wire. The boot id is random
 * per keyring (per process start); the number counts up from 0, so a nonce never repeats
 * under a key (NIST SP 800-38D §8.2.1, the deterministic construction; QUIC and TLS 1.3
 * derive theirs from a packet number the same way), and a receiver can refuse an envelope
 * it has seen (replay-window.ts). Kind 0x01 (a random nonce, no number) is retired: it
 * cannot be told from its replay, so it is refused; kinds are append-only.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/** Retired: random-nonce envelopes of heck before replay protection. Never reuse. */
export const SEALED_KIND_V1 = 0x01
export const SEALED_KIND = 0x02
const BOOT_BYTES = 8
const NUMBER_BYTES = 4
const NONCE_BYTES = BOOT_BYTES + NUMBER_BYTES
const TAG_BYTES = 16
/** Bytes sealing adds to a plaintext: kind + nonce (boot id + number) + tag. */
export const SEAL_OVERHEAD_BYTES = 1 + NONCE_BYTES + TAG_BYTES
/** Envelope numbers are 32-bit; at the last one the keyring takes a new boot id and starts again at 0. */
const LAST_NUMBER = 0xffff_ffff
const AAD = Uint8Array.of(SEALED_KIND)

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

/** An opened envelope: its plaintext and who numbered it (the sender's boot, as a map key). */
export interface Opened {
  plain: Uint8Array
  boot: string
  number: number
}

export interface KeyringOptions {
  /** This process's boot id (8 bytes); random by default. Tests pin it. */
  bootId?: Uint8Array
  /** The first envelope number; 0 by default. Tests start near the end to see the boot id roll. */
  firstNumber?: number
}

/** The boot id as a Map key: four 16-bit code units, no allocation beyond the string. */
function bootKey(b: Uint8Array, at: number): string {
  return String.fromCharCode(
    ((b[at] as number) << 8) | (b[at + 1] as number),
    ((b[at + 2] as number) << 8) | (b[at + 3] as number),
    ((b[at + 4] as number) << 8) | (b[at + 5] as number),
    ((b[at + 6] as number) << 8) | (b[at + 7] as number),
  )
}

export class Keyring {
  private keys: Uint8Array[]
  private readonly nonce = new Uint8Array(NONCE_BYTES)
  private number: number

  /** `keys[0]` is the primary used to encrypt; all are tried to decrypt. */
  constructor(keys: Uint8Array[], opts: KeyringOptions = {}) {
    if (keys.length === 0) throw new Error('keyring needs at least one key')
    for (const k of keys) if (k.length !== 32) throw new Error('AES-256 keys are 32 bytes')
    this.keys = keys.slice()
    if (opts.bootId && opts.bootId.length !== BOOT_BYTES) throw new Error(`boot id must be ${BOOT_BYTES} bytes`)
    this.nonce.set(opts.bootId ?? randomBytes(BOOT_BYTES), 0)
    this.number = opts.firstNumber ?? 0
  }

  static fromBase64(keys: string[], opts?: KeyringOptions): Keyring {
    return new Keyring(keys.map(parseKey), opts)
  }

  /**
   * Swaps the key set in place (rotation: a keyring file edited, then SIGHUP); `keys[0]`
   * encrypts from the next packet on. The nonce sequence carries on, so no nonce is ever
   * used twice under a key, whichever keys the old and new sets share.
   */
  replaceKeys(keys: string[]): void {
    const parsed = keys.map(parseKey)
    if (parsed.length === 0) throw new Error('keyring needs at least one key')
    for (const k of parsed) if (k.length !== 32) throw new Error('AES-256 keys are 32 bytes')
    this.keys = parsed
  }

  /** This keyring's current boot id, as receivers key it. */
  get boot(): string {
    return bootKey(this.nonce, 0)
  }

  seal(plain: Uint8Array): Uint8Array {
    if (this.number > LAST_NUMBER) {
      // Numbers ran out: a new boot id keeps every nonce unique; receivers see a new sender boot.
      this.nonce.set(randomBytes(BOOT_BYTES), 0)
      this.number = 0
    }
    new DataView(this.nonce.buffer).setUint32(BOOT_BYTES, this.number)
    this.number++
    const c = createCipheriv('aes-256-gcm', this.keys[0] as Uint8Array, this.nonce)
    c.setAAD(AAD)
    const body = c.update(plain)
    const fin = c.final()
    const tag = c.getAuthTag()
    const out = new Uint8Array(1 + NONCE_BYTES + body.length + fin.length + TAG_BYTES)
    out[0] = SEALED_KIND
    out.set(this.nonce, 1)
    out.set(body, 1 + NONCE_BYTES)
    out.set(fin, 1 + NONCE_BYTES + body.length)
    out.set(tag, out.length - TAG_BYTES)
    return out
  }

  /** The plaintext with its sender boot and number, or undefined when no key in the ring authenticates it. */
  openEnvelope(sealed: Uint8Array): Opened | undefined {
    if (sealed.length < SEAL_OVERHEAD_BYTES || sealed[0] !== SEALED_KIND) return undefined
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES)
    const body = sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)
    const tag = sealed.subarray(sealed.length - TAG_BYTES)
    for (const key of this.keys) {
      try {
        const d = createDecipheriv('aes-256-gcm', key, nonce)
        d.setAAD(AAD)
        d.setAuthTag(tag)
        const a = d.update(body)
        const b = d.final()
        const plain = new Uint8Array(a.length + b.length)
        plain.set(a, 0)
        plain.set(b, a.length)
        const number = new DataView(sealed.buffer, sealed.byteOffset + 1 + BOOT_BYTES, NUMBER_BYTES).getUint32(0)
        return { plain, boot: bootKey(sealed, 1), number }
      } catch {
        // wrong key or tampered: try the next key
      }
    }
    return undefined
  }

  /** The plaintext, or undefined when no key in the ring authenticates it. No replay check: the codec does that. */
  open(sealed: Uint8Array): Uint8Array | undefined {
    return this.openEnvelope(sealed)?.plain
  }
}
