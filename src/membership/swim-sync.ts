/**
 * Dissemination rounds (memberlist gossip and pushPull): every gossip interval,
 * pending broadcasts go to a few random members (recently dead ones included, so
 * they can learn of their death and refute); every push/pull interval, a full-state
 * exchange over TCP with one live member, and one attempt at a member thought dead
 * (Serf's reconnect), which is how a healed partition finds itself again.
 */
import { MESSAGE_OVERHEAD_BYTES } from '../codec/swim-envelope.ts'
import { MsgTag } from '../codec/swim-messages.ts'
import type { Swim } from './swim.ts'

export function gossipRound(s: Swim): void {
  if (s.queue.size === 0 && !s.delegate) return
  const now = s.clock.monotonic()
  const c = s.config
  const extra = Math.max(1, c.gossipPacketsPerNode)
  const targets = s.randomMembers(c.gossipNodes * extra, (m) => m.state === 'alive' || m.state === 'suspect' || now - m.sinceMs < c.gossipToTheDeadMs)
  const budget = c.packetLimitBytes - s.codec.envelopeOverheadBytes
  for (const [i, target] of targets.entries()) {
    const msgs = s.takeBroadcasts(budget)
    if (msgs.length === 0) return
    let used = 0
    for (const m of msgs) used += m.length + MESSAGE_OVERHEAD_BYTES
    for (const pkt of s.codec.packAll(msgs, c.packetLimitBytes)) {
      s.stats.bytesOut += pkt.length
      s.transport.sendPacket(target.addr, pkt)
    }
    // memberlist's round is one packet to each of gossipNodes members. Beyond those, only
    // a backlog (a packet that came out nearly full) earns more members this round.
    if (i + 1 >= c.gossipNodes && used < budget - FULL_SLACK_BYTES) return
  }
}

/** A packet with less than this left unused counts as full (a backlog is waiting). */
const FULL_SLACK_BYTES = 300

export function pushPullRound(s: Swim): void {
  const [peer] = s.randomMembers(1, (m) => m.state === 'alive')
  if (peer) void s.pushPull(peer.addr, false).catch(() => {})
  // A member we think dead may be alive across a healed partition; an exchange lets
  // both sides see the other's claim about them and refute it.
  const [dead] = s.randomMembers(1, (m) => m.state === 'dead')
  if (dead) void s.pushPull(dead.addr, false).catch(() => {})
}

/** One full-state exchange over a stream; resolves once the peer's state is merged. */
export async function pushPull(s: Swim, addr: string, join: boolean, timeoutMs: number): Promise<void> {
  const frame = s.codec.pack([s.codec.encodeMsg(s.localPushPull(join))])
  s.stats.bytesOut += frame.length
  const reply = await s.transport.request(addr, frame, timeoutMs)
  s.stats.bytesIn += reply.length
  const r = s.codec.decode(reply, true)
  if (!r.ok) {
    s.drop(r.reason)
    throw new Error(`push/pull with ${addr}: bad reply (${r.reason})`)
  }
  const m = r.value.msgs[0]
  if (!m || m.t !== MsgTag.PushPull) throw new Error(`push/pull with ${addr}: unexpected reply`)
  s.mergePushPull(m)
}
