/**
 * What the demo keys (`heck demo` only) act on, as a pure function: K kills the
 * member selected in the Members view, or in the Targets view the selected
 * target's owner (so the next owner visibly takes over); R restarts the
 * selected member, or the last one killed; F flips the selected target.
 */
import type { TuiState, TuiTarget } from './types.ts'
import type { UiState } from './ui-state.ts'

export type DemoAction = { kind: 'kill' | 'restart'; node: string } | { kind: 'flip'; target: string }

export function demoAction(key: string, ui: UiState, state: TuiState, selectedTarget: TuiTarget | undefined, lastKilled: string | null): DemoAction | null {
  const member = ui.view === 'members' ? state.members?.[ui.memberSelected] : undefined
  switch (key) {
    case 'K': {
      const node = ui.view === 'members' ? member?.name : (selectedTarget?.owner ?? undefined)
      return node ? { kind: 'kill', node } : null
    }
    case 'R': {
      const node = member?.name ?? lastKilled
      return node ? { kind: 'restart', node } : null
    }
    case 'F':
      return ui.view === 'targets' && selectedTarget ? { kind: 'flip', target: selectedTarget.id } : null
    default:
      return null
  }
}

export function describeDemoAction(a: DemoAction): string {
  return a.kind === 'flip' ? `demo: flipping ${a.target}` : `demo: ${a.kind === 'kill' ? 'killing' : 'restarting'} ${a.node}`
}
