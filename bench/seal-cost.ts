/**
 * What replay protection costs a sealed envelope (src/codec/keyring.ts,
 * replay-window.ts): bytes per packet and CPU per seal + open, for the old
 * random-nonce seal (kind 0x01, re-implemented here as the baseline), the
 * numbered seal opened alone, and the whole path a receiver runs (open, check
 * and record the sender boot's window). Sizes: a probe (60 B), a full gossip
 * packet (1400 B) and a 64 KiB stream frame.
 *
 *   bun bench/seal-cost.ts     (N=200000 per size; BOOTS=16 senders)
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { Keyring, SEAL_OVERHEAD_BYTES } from '../src/codec/keyring.ts'
import { ReplayGuard } from '../src/codec/replay-window.ts'

const N = Number(process.env.N ?? 200_000)
const BOOTS = Number(process.env.BOOTS ?? 16)
const key = new Uint8Array(randomBytes(32))

/** The seal before replay protection: [0x01][12-byte random nonce][ciphertext][tag]. */
function sealV1(plain: Uint8Array): Uint8Array {
  const nonce = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', key, nonce)
  c.setAAD(Uint8Array.of(1))
  const body = c.update(plain)
  const fin = c.final()
  const out = new Uint8Array(1 + 12 + body.length + fin.length + 16)
  out[0] = 1
  out.set(nonce, 1)
  out.set(body, 13)
  out.set(fin, 13 + body.length)
  out.set(c.getAuthTag(), out.length - 16)
  return out
}

function openV1(sealed: Uint8Array): Uint8Array {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13))
  d.setAAD(Uint8Array.of(1))
  d.setAuthTag(sealed.subarray(sealed.length - 16))
  const a = d.update(sealed.subarray(13, sealed.length - 16))
  const b = d.final()
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/** ns per call of each variant: rounds interleaved, the median round kept (other load on the machine moves single runs). */
function compare(n: number, rounds: number, variants: Record<string, (i: number) => void>): Record<string, number> {
  const samples: Record<string, number[]> = {}
  for (const [label, fn] of Object.entries(variants)) {
    samples[label] = []
    for (let i = 0; i < Math.min(n, 5000); i++) fn(i) // warm-up
  }
  const per = Math.max(1, Math.floor(n / rounds))
  for (let r = 0; r < rounds; r++) {
    for (const [label, fn] of Object.entries(variants)) {
      const t0 = Bun.nanoseconds()
      for (let i = 0; i < per; i++) fn(i)
      samples[label]?.push((Bun.nanoseconds() - t0) / per)
    }
  }
  const out: Record<string, number> = {}
  for (const [label, xs] of Object.entries(samples)) {
    xs.sort((a, b) => a - b)
    out[label] = xs[Math.floor(xs.length / 2)] as number
    console.log(`  ${label.padEnd(44)} ${out[label].toFixed(0).padStart(7)} ns  (rounds ${(xs[0] as number).toFixed(0)}–${(xs.at(-1) as number).toFixed(0)})`)
  }
  return out
}

const ROUNDS = Number(process.env.ROUNDS ?? 15)
console.log(`seal + open, ${N} envelopes per size in ${ROUNDS} interleaved rounds (median), ${BOOTS} sender boots; bun ${Bun.version}, ${process.arch}`)
console.log(`bytes added per envelope: before ${1 + 12 + 16}, now ${SEAL_OVERHEAD_BYTES} (boot id + number are the GCM nonce)`)
type Opened = NonNullable<ReturnType<Keyring['openEnvelope']>>
for (const size of [60, 1400, 64 * 1024]) {
  const n = size > 10_000 ? Math.max(ROUNDS * 100, Math.floor(N / 50)) : N
  const plain = new Uint8Array(randomBytes(size))
  const senders = Array.from({ length: BOOTS }, () => new Keyring([key]))
  const receiver = new Keyring([key])
  const guard = new ReplayGuard()
  const sealed = (senders[0] as Keyring).seal(plain)
  const replays = new ReplayGuard()
  const first = receiver.openEnvelope(sealed) as Opened
  replays.accept(first.boot, first.number)
  console.log(`${size} B plaintext:`)
  const r = compare(n, ROUNDS, {
    'random nonce (before): seal + open': () => void openV1(sealV1(plain)),
    'numbered: seal + open': (i) => void receiver.openEnvelope((senders[i % BOOTS] as Keyring).seal(plain)),
    'numbered: seal + open + window check/record': (i) => {
      const o = receiver.openEnvelope((senders[i % BOOTS] as Keyring).seal(plain)) as Opened
      if (guard.check(o.boot, o.number) !== 'new') throw new Error('false replay')
      guard.accept(o.boot, o.number)
    },
    'a replay refused (open + window check)': () => {
      const o = receiver.openEnvelope(sealed) as Opened
      if (replays.check(o.boot, o.number) === 'new') throw new Error('replay accepted')
    },
  })
  const before = r['random nonce (before): seal + open'] as number
  if (size === 60) {
    const bootIds = senders.map((k) => k.boot)
    const alone = new ReplayGuard()
    compare(N * 5, ROUNDS, {
      'window check/record alone (16 boots, in order)': (i) => {
        const b = bootIds[i % BOOTS] as string
        const num = Math.floor(i / BOOTS)
        if (alone.check(b, num) === 'new') alone.accept(b, num)
      },
    })
  }
  const now = r['numbered: seal + open + window check/record'] as number
  console.log(`  → with replay protection: ${(now - before).toFixed(0)} ns per envelope (${(((now - before) / before) * 100).toFixed(1)} %)`)
}
