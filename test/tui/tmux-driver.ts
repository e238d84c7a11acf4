/**
 * A small tmux driver for end-to-end tests of the compiled TUI: start a
 * detached session of a fixed size, send keys, capture the pane, and poll the
 * capture until a condition holds (the UI is polled, not slept on).
 */

export const hasTool = (name: string) => Bun.spawnSync(['sh', '-c', `command -v ${name}`]).exitCode === 0

/** A private tmux server per test process, so tests never touch anyone else's tmux sessions. */
export const SOCKET = `heck-e2e-${process.pid}`

function tmux(...args: string[]): string {
  const r = Bun.spawnSync(['tmux', '-L', SOCKET, ...args], { stderr: 'pipe' })
  if (r.exitCode !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr.toString().trim()}`)
  return r.stdout.toString()
}

export class TmuxSession {
  constructor(readonly name: string) {}

  static start(name: string, command: string, width = 120, height = 35): TmuxSession {
    Bun.spawnSync(['tmux', '-L', SOCKET, 'kill-session', '-t', name], { stderr: 'ignore' })
    // A session that only sleeps keeps the private server up between tests (it exits with its last session).
    if (Bun.spawnSync(['tmux', '-L', SOCKET, 'has-session', '-t', 'keeper'], { stderr: 'ignore' }).exitCode !== 0) {
      tmux('new-session', '-d', '-s', 'keeper', 'sleep 3600')
    }
    tmux('new-session', '-d', '-s', name, '-x', String(width), '-y', String(height), command)
    return new TmuxSession(name)
  }

  /** Keys as tmux names them (Enter, Escape, Tab, Down) or literal text with `literal`. */
  keys(keys: string, literal = false): void {
    tmux('send-keys', '-t', this.name, ...(literal ? ['-l', keys] : [keys]))
  }

  resize(width: number, height: number): void {
    tmux('resize-window', '-t', this.name, '-x', String(width), '-y', String(height))
  }

  capture(escapes = false): string {
    return tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', this.name)
  }

  /** 1 while the alternate screen is on (a full-screen program is drawing). */
  alternateOn(): boolean {
    return tmux('display-message', '-p', '-t', this.name, '#{alternate_on}').trim() === '1'
  }

  cursorVisible(): boolean {
    return tmux('display-message', '-p', '-t', this.name, '#{cursor_flag}').trim() === '1'
  }

  /** Polls the capture every 100 ms until `pred` holds; throws with the last capture after `timeoutMs`. */
  async waitFor(what: string, pred: (screen: string) => boolean, timeoutMs = 10_000): Promise<string> {
    const deadline = performance.now() + timeoutMs
    let last = ''
    while (performance.now() < deadline) {
      last = this.capture()
      if (pred(last)) return last
      await Bun.sleep(100)
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; screen was:\n${last}`)
  }

  kill(): void {
    Bun.spawnSync(['tmux', '-L', SOCKET, 'kill-session', '-t', this.name], { stderr: 'ignore' })
  }

  /** Stops the private tmux server and everything in it. */
  static shutdown(): void {
    Bun.spawnSync(['tmux', '-L', SOCKET, 'kill-server'], { stderr: 'ignore' })
  }
}
