/**
 * Where a push goes (SPEC.md "Push heartbeats"): a job may send it to any node, and
 * the node hands it to the target's owners in priority order, the first that takes
 * it keeping it (node/push-ledger.ts). The checking owner first; while it is
 * unreachable but not yet declared dead, the next owner keeps the heartbeat, so it
 * holds it when it takes over. The owner then writes the heartbeat's time into the
 * replicated health record, so every node shows it.
 */
import type { MemberView } from './types.ts'
import type { Heartbeat, PushLedger } from './push-ledger.ts'

/** Hands a heartbeat to another member (its HTTP API); rejects when that member did not take it. */
export type ForwardPush = (member: MemberView, id: string, beat: Heartbeat) => Promise<void>

export interface PushRouterOptions {
  self: string
  /** The target's owners in priority order, live members only. */
  owners(id: string): string[]
  members(): MemberView[]
  ledger: PushLedger
  forward?: ForwardPush
}

export class PushRouter {
  constructor(private readonly o: PushRouterOptions) {}

  /**
   * Gives the heartbeat to the first owner that takes it; resolves with that owner's
   * name, rejects (naming each owner's answer) when none did.
   */
  async push(id: string, beat: Heartbeat, forwarded = false): Promise<string> {
    const { self, ledger } = this.o
    const owners = this.o.owners(id)
    // A forwarded push stays here: forwarding it again could bounce between two views of the owners.
    if (forwarded || owners.length === 0 || owners[0] === self || !this.o.forward) {
      ledger.record(id, beat)
      return self
    }
    const members = new Map(this.o.members().map((m) => [m.name, m]))
    const failures: string[] = []
    for (const name of owners) {
      if (name === self) {
        ledger.record(id, beat)
        return self
      }
      const m = members.get(name)
      if (!m) continue
      try {
        await this.o.forward(m, id, beat)
        return name
      } catch (e) {
        failures.push(`${name}: ${e instanceof Error ? e.message : String(e)}`)
      }
    }
    throw new Error(`no owner of ${id} took the push (${failures.join('; ') || 'none is live'})`)
  }
}
