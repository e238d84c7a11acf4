/**
 * `heck tui [--http ADDR]`: the terminal UI attached to a running agent, and
 * `runTui`, which `heck agent --tui` and `heck demo` call with their own
 * agent's address (and, for the demo, the kill/restart/flip controls).
 */
import { realClock } from '../runtime/real-clock.ts'
import type { DemoControls } from '../tui/app.ts'
import { apiBase, clientToken, parseFlags } from './args.ts'
import { EXIT_USAGE } from './errors.ts'

export type { DemoControls }

export interface RunTuiOptions {
  /** Base URL of the agent's HTTP API, e.g. http://127.0.0.1:8080. */
  baseUrl: string
  /** Other agents' base URLs to switch to, in turn, when the current one stops answering (for `heck demo`, every node). */
  fallbackUrls?: string[]
  /** `heck demo` only: kill/restart a node and flip a farm target from the keyboard. */
  demo?: DemoControls
  /** Shown at the top left; default "heck". */
  title?: string
  /** Set by `heck agent --tui`: SIGHUP reloads the targets file there, so it must not close the UI. */
  ignoreSighup?: boolean
  /** Bearer token for an agent with --api-read-token (`--token`, HECK_TOKEN). */
  token?: string
}

const TUI_HELP = `Usage: heck tui [--http ADDR] [--token TOKEN]

  --http HOST:PORT   the agent's HTTP API (default 127.0.0.1:8080)
  --token TOKEN      bearer token for an agent run with --api-read-token (default: $HECK_TOKEN)

Keys: arrows or j/k move, Enter detail, Tab members/targets, / filter,
u unhealthy only, s sort, ? help, q quit. NO_COLOR=1 turns colour off.
`

export async function tuiCommand(args: string[]): Promise<number> {
  const { values } = parseFlags('tui', args, { http: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const)
  if (values.help) {
    process.stdout.write(TUI_HELP)
    return 0
  }
  const token = clientToken(values.token)
  return runTui({ baseUrl: apiBase(values.http), ...(token ? { token } : {}) })
}

/** Opens the UI; resolves with the exit code when the person quits (0), 1 after a crash, or 2 when stdout is not a terminal (or TERM=dumb). */
export async function runTui(opts: RunTuiOptions): Promise<number> {
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    process.stderr.write(
      `heck tui: ${process.stdout.isTTY ? 'stdin' : 'stdout'} is not a terminal; run it in an interactive terminal, or use 'heck status' / 'heck members' in scripts\n`,
    )
    return EXIT_USAGE
  }
  if (process.env.TERM === 'dumb') {
    process.stderr.write(`heck tui: TERM=dumb cannot draw a full-screen UI; set TERM to your terminal's type (e.g. xterm-256color)\n`)
    return EXIT_USAGE
  }
  const noColor = (process.env.NO_COLOR ?? '') !== ''
  // Loaded here so commands that never draw do not pay for blessed.
  const { runApp } = await import('../tui/app.ts')
  // HECK_TUI_TRACE=FILE: frame timings written on exit, for bench/tui.ts.
  const tracePath = process.env.HECK_TUI_TRACE || undefined
  return runApp({ baseUrl: opts.baseUrl.replace(/\/$/, ''), clock: realClock, noColor, ...(tracePath ? { tracePath } : {}), ...(opts.demo ? { demo: opts.demo } : {}), ...(opts.title ? { title: opts.title } : {}), ...(opts.ignoreSighup ? { ignoreSighup: true } : {}), ...(opts.fallbackUrls ? { fallbackUrls: opts.fallbackUrls } : {}), ...(opts.token ? { token: opts.token } : {}) })
}
