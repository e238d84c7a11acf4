/**
 * CPU cost of the replicated-state operations an agent of a cluster runs for every
 * push/pull and full sync, at TARGETS targets written by NODES owners (realistic
 * target definitions and health records): encode full state, decode it, merge an
 * identical full state (the common case: nothing new), merge a full state where
 * 1 % of the health records changed, and a digest encode/decode.
 *
 *   bun bench/crdt-merge-cost.ts     (TARGETS=10000 NODES=16 REPS=5)
 */
import { decodeMessage, encodeDigest, encodeFull, Tag } from '../src/crdt/codec.ts'
import { cloneState } from '../src/crdt/dot-store.ts'
import { SimClock } from '../test/sim/sim-clock.ts'
import { mkReplica } from '../test/crdt/helpers.ts'

const TARGETS = Number(process.env.TARGETS ?? 10_000)
const NODES = Number(process.env.NODES ?? 16)
const REPS = Number(process.env.REPS ?? 5)

const def = (i: number) => ({
  id: `t${i}`, intervalMs: 1000, timeoutMs: 800, rise: 2, fall: 3, connection: 'reuse',
  check: { kind: 'http', url: `http://127.0.0.1:40000/t/${i}`, method: 'GET', headers: {} }, expect: { status: [200] },
})
const obs = (owner: string, now: number, i: number) => ({
  status: 'healthy', since: now, last: now, term: 1, owner,
  result: { ok: true, latency_ms: 0.42, checked_at: now, checker: owner, status_code: 200 + (i % 1) },
})

const clock = new SimClock()
const reps = Array.from({ length: NODES }, (_, i) => mkReplica(`n${i}`, clock).rs)
reps[0]!.setContribution('n0', Array.from({ length: TARGETS }, (_, i) => ({ id: `t${i}`, def: def(i) })))
for (let i = 0; i < TARGETS; i++) reps[i % NODES]!.observe(`t${i}`, obs(`n${i % NODES}`, clock.now(), i))
const a = reps[0]!
for (const r of reps.slice(1)) a.ae.mergeFull(cloneState(r.state))
const b = mkReplica('peer', clock).rs
b.ae.mergeFull(cloneState(a.state))
clock.advance(5000)
for (let i = 0; i < TARGETS; i += 100) reps[i % NODES]!.observe(`t${i}`, obs(`n${i % NODES}`, clock.now(), i))
const changed = mkReplica('c', clock).rs
changed.ae.mergeFull(cloneState(a.state))
for (const r of reps) changed.ae.mergeFull(cloneState(r.state))

function time(label: string, fn: () => unknown): void {
  fn()
  const t0 = performance.now()
  for (let i = 0; i < REPS; i++) fn()
  console.log(`${label.padEnd(48)} ${((performance.now() - t0) / REPS).toFixed(2).padStart(9)} ms`)
}

const full = encodeFull(Tag.Full, a.state)
const fullChanged = encodeFull(Tag.Full, changed.state)
console.log(`${TARGETS} targets, ${NODES} owners: full state ${(full.byteLength / 1024).toFixed(0)} KiB, ${a.state.store.size} keys`)
time('encode full state', () => encodeFull(Tag.Full, a.state))
time('decode full state', () => decodeMessage(full, a.limits))
time('merge identical full state (decoded)', () => b.ae.mergeFull((decodeMessage(full, a.limits) as any).msg.state))
time('merge full state, 1 % of health changed', () => {
  const p = mkReplica('p', clock).rs
  p.state = cloneState(b.state)
  p.ae.mergeFull((decodeMessage(fullChanged, a.limits) as any).msg.state)
})
time('  (its setup alone: clone + decode)', () => {
  const p = mkReplica('p', clock).rs
  p.state = cloneState(b.state)
  decodeMessage(fullChanged, a.limits)
})
const dg = encodeDigest(Tag.Digest, a.state.ctx)
time('digest encode + decode', () => decodeMessage(encodeDigest(Tag.Digest, a.state.ctx), a.limits))
console.log(`digest ${dg.byteLength} B`)
if (process.env.DETAIL === '1') {
  const { readCbor } = await import('../src/codec/cbor-read.ts')
  time('  readCbor alone (full state)', () => readCbor(full))
}
