/** Membership types shared by the core, the facade and the simulator. */
import type { MemberState } from './math.ts'
import type { Meta } from '../codec/swim-messages.ts'

export type { MemberState, Meta }

export interface MemberInfo {
  name: string
  addr: string
  state: MemberState
  incarnation: number
  meta: Meta
  /** The local-health score, present on the local node's own entry only. */
  health?: number
}

export type ChangeListener = (m: MemberInfo, prev?: MemberState) => void

/** Counters the core keeps; the facade exports them as metrics. */
export interface SwimStats {
  bytesIn: number
  bytesOut: number
  drops: Map<string, number>
}
