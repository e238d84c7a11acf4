/**
 * Dissemination rounds (memberlist gossip and pushPull): every gossip interval,
 * pending broadcasts go to a few random members (recently dead ones included, so
 * they can learn of their death and refute); every push/pull interval, a full-state
 * exchange over TCP with one live member, and one attempt at a member thought dead
 * (Serf's reconnect), which is how a healed partition finds itself again.
 */
import { MsgTag } from '../codec/swim-messages.ts'
import type { Swim } from './swim.ts'

export function gossipRound(s: Swim): void {
  if (s.queue.size === 0 && !s.delegate) return
  const now = s.clock.monotonic()
  const targets = s.randomMembers(s.config.gossipNodes, (m) => m.state === 'alive' || m.state === 'suspect' || now - m.sinceMs < s.config.gossipToTheDeadMs)
  for (const t of targets) {
    const msgs = s.takeBroadcasts(s.config.packetLimitBytes - s.codec.envelopeOverheadBytes)
    if (msgs.length === 0) return
    for (const pkt of s.codec.packAll(msgs, s.config.packetLimitBytes)) {
      s.stats.bytesOut += pkt.length
      s.transport.sendPacket(t.addr, pkt)
    }
  }
}

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
