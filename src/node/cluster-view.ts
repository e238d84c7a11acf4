/**
 * What the node needs from membership: who is in the cluster and in what state,
 * and a signal when that changes. A cluster of one (SoloCluster) has only itself;
 * a SWIM cluster adapts its membership handle to this.
 */
import type { MemberView } from './types.ts'

export interface ClusterView {
  /** Every known member, this node included, with its state as this node sees it. */
  members(): Array<Omit<MemberView, 'owned'>>
  onChange(fn: () => void): () => void
  /**
   * Optional: whether the cluster already counted this node as a member when it joined
   * (it restarted before anyone saw it gone). Such a node takes its share at once.
   */
  knownBeforeJoin?(): boolean
}

export class SoloCluster implements ClusterView {
  constructor(private readonly name: string, private readonly addr = '-') {}
  members(): Array<Omit<MemberView, 'owned'>> {
    return [{ name: this.name, addr: this.addr, state: 'alive', incarnation: 0 }]
  }
  onChange(): () => void {
    return () => {}
  }
}
