/**
 * One SWIM probe (Das et al. 2002, with memberlist's refinements and Lifeguard):
 * ping; after the probe timeout ask k members to ping-req with nacks and try a TCP
 * ping; suspect at the end of the period unless an ack came. Lifeguard's parts
 * here: timeouts scaled by local health, missed nacks counted against ourselves,
 * and the buddy system (a suspect's probe carries the suspicion). A probe ends
 * early once every helper nacked and the TCP ping failed: nothing left could save it.
 */
import type { Cancel } from '../seams/clock.ts'
import { MsgTag, type Msg } from '../codec/swim-messages.ts'
import type { Swim } from './swim.ts'

export function probeMember(s: Swim, name: string): void {
  const target = s.members.get(name)
  if (!target) return
  const seq = s.nextSeq()
  const addr = target.addr
  const inc = target.inc
  let done = false
  let indirectSent = false
  let nacks = 0
  let expectedNacks = 0
  let tcpFailed = !s.config.tcpFallbackPing
  const cancels: Cancel[] = []
  const finish = () => {
    done = true
    s.acks.delete(seq)
    for (const c of cancels) c()
  }
  const fail = () => {
    if (done || s.stopped) return
    finish()
    // Lifeguard: missed nacks mean *we* may be the slow one, so back off.
    s.adjustHealth(expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1)
    const m = s.members.get(name)
    if (m && m.inc === inc && (m.state === 'alive' || m.state === 'suspect')) {
      s.applySuspect({ t: MsgTag.Suspect, inc, node: name, from: s.name })
    }
  }
  // Every helper said it could not reach the target and the TCP ping failed too:
  // nothing more can arrive that would change the verdict, so do not wait out the period.
  const conclusive = () => {
    if (indirectSent && tcpFailed && expectedNacks > 0 && nacks >= expectedNacks) fail()
  }
  s.acks.set(seq, {
    onAck: () => {
      if (done) return
      finish()
      s.adjustHealth(-1)
    },
    onNack: () => {
      nacks++
      conclusive()
    },
  })
  const ping: Msg = { t: MsgTag.Ping, seq, target: name, from: s.name, addr: s.addr }
  // Buddy system: a suspected member learns of the suspicion from its prober at once.
  const msgs: Msg[] = s.lifeguard && target.state === 'suspect' ? [{ t: MsgTag.Suspect, inc, node: name, from: s.name }, ping] : [ping]
  s.send(addr, msgs)
  const timeoutMs = s.scaled(s.config.probeTimeoutMs)
  const intervalMs = s.scaled(s.config.probeIntervalMs)
  cancels.push(
    s.clock.after(timeoutMs, () => {
      if (done || s.stopped) return
      const helpers = s.randomMembers(s.config.indirectChecks, (m) => m.state === 'alive' && m.name !== name)
      for (const h of helpers) {
        expectedNacks++
        s.send(h.addr, [{ t: MsgTag.PingReq, seq, target: name, targetAddr: addr, from: s.name, addr: s.addr, nack: true }])
      }
      indirectSent = true
      if (s.config.tcpFallbackPing) {
        tcpPing(s, seq, name, addr, Math.max(1, intervalMs - timeoutMs), () => {
          tcpFailed = true
          conclusive()
        })
      }
    }),
  )
  cancels.push(s.clock.after(intervalMs, fail))
}

function tcpPing(s: Swim, seq: number, target: string, addr: string, timeoutMs: number, onFail: () => void): void {
  const frame = s.codec.pack([s.codec.encodeMsg({ t: MsgTag.Ping, seq, target, from: s.name, addr: s.addr })])
  s.stats.bytesOut += frame.length
  s.transport.request(addr, frame, timeoutMs).then(
    (reply) => {
      s.stats.bytesIn += reply.length
      const r = s.codec.decode(reply, true)
      if (!r.ok) {
        s.drop(r.reason)
        return onFail()
      }
      for (const m of r.value.msgs) if (m.t === MsgTag.Ack && m.seq === seq) return s.acks.get(seq)?.onAck()
      onFail()
    },
    () => onFail(),
  )
}
