#!/usr/bin/env bun
/**
 * The `heck` entry point: dispatches to one command module, loaded lazily so
 * `heck version` or `heck status` never pay for the TUI or the agent at start-up.
 */
import { EXIT_RUNTIME, EXIT_USAGE, UsageError } from './errors.ts'
import { VERSION } from '../version.ts'

const HELP = `heck ${VERSION}: a distributed health checker

Usage: heck <command> [flags]

Commands:
  agent       run one node (see 'heck agent --help')
  members     list the membership as one node sees it       [--http ADDR] [--json] [--token T]
  status      print the health of every target                [--http ADDR] [--unhealthy] [--json] [--token T]
  owners ID   print a target's owners in priority order       [--http ADDR] [--token T]
  history ID  a target's state changes, uptime and recent results, from any node [--http ADDR] [--json] [--token T]
  ownership   compute ownership offline                       --members a,b,c --targets FILE [--replicas K] [--json]
  tui         open the terminal UI on a running agent         [--http ADDR] [--token T]
  demo        start a local cluster plus a target farm        [--nodes N] [--targets T] [--store gossip|etcd]
  farm        serve simulated health endpoints                [--port P] [--count N] [--flap RATE]
  keygen      print a new base64 key for --encrypt
  version     print the version

ADDR defaults to 127.0.0.1:8080. --token (or HECK_TOKEN) is for agents run with --api-read-token.
Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
Full contract: SPEC.md.
`

// cbor-x would load the optional native `cbor-extract` addon when it can find it (in a
// checkout, not in the compiled binary). Decode wire bytes with the same pure-JS
// path everywhere, so tests exercise exactly what ships.
process.env.CBOR_NATIVE_ACCELERATION_DISABLED ??= 'true'

type Command = (args: string[]) => Promise<number>

const commands: Record<string, () => Promise<Command>> = {
  agent: async () => (await import('./agent-cmd.ts')).agentCommand,
  members: async () => (await import('./client-cmds.ts')).membersCommand,
  status: async () => (await import('./client-cmds.ts')).statusCommand,
  owners: async () => (await import('./client-cmds.ts')).ownersCommand,
  history: async () => (await import('./client-cmds.ts')).historyCommand,
  ownership: async () => (await import('./ownership-cmd.ts')).ownershipCommand,
  tui: async () => (await import('./tui-cmd.ts')).tuiCommand,
  demo: async () => (await import('./demo-cmd.ts')).demoCommand,
  farm: async () => (await import('../farm/farm-cmd.ts')).farmCommand,
  keygen: async () => (await import('./keygen-cmd.ts')).keygenCommand,
  version: async () => async () => {
    console.log(`heck ${VERSION}`)
    return 0
  },
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(HELP)
    return name ? 0 : EXIT_USAGE
  }
  if (name === '--version' || name === '-v') return commands.version ? (await commands.version())(rest) : 0
  const load = commands[name]
  if (!load) {
    process.stderr.write(`heck: unknown command "${name}"; run 'heck help' for the list\n`)
    return EXIT_USAGE
  }
  const debug = rest.includes('--log-level=debug') || rest.join(' ').includes('--log-level debug')
  try {
    return await (await load())(rest)
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && e.name === 'ConfigError')) {
      process.stderr.write(`heck ${name}: ${e.message}\n`)
      return EXIT_USAGE
    }
    const msg = e instanceof Error ? e.message : String(e)
    process.stderr.write(`heck ${name}: ${msg}\n`)
    if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`)
    return EXIT_RUNTIME
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2))
  // Long-running commands (agent, farm, demo, tui) resolve only when they are done.
  process.exit(code)
}
