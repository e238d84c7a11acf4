/**
 * ClusterView over SWIM membership: the node sees members and their states, and
 * hears when any of them changes. Change bursts (a join storm, a partition) are
 * passed on as they come; the node coalesces its own work.
 */
import type { ClusterView } from '../node/cluster-view.ts'
import type { MemberView } from '../node/types.ts'
import type { SwimMembership } from './membership.ts'

export class SwimClusterView implements ClusterView {
  private fns = new Set<() => void>()

  constructor(private readonly m: SwimMembership) {
    m.onChange(() => {
      for (const fn of this.fns) fn()
    })
  }

  members(): Array<Omit<MemberView, 'owned'>> {
    return this.m.members().map((x) => ({
      name: x.name,
      addr: x.addr,
      state: x.state,
      incarnation: x.incarnation,
      meta: x.meta,
      ...(x.name === this.m.name ? { health: this.m.localHealthScore() } : {}),
    }))
  }

  knownBeforeJoin(): boolean {
    const seen = this.m.peerViewOfSelf()
    return seen === 'alive' || seen === 'suspect'
  }

  onChange(fn: () => void): () => void {
    this.fns.add(fn)
    return () => this.fns.delete(fn)
  }
}
