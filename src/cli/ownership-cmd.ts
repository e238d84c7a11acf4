/**
 * `heck ownership --members a,b,c --targets FILE [--replicas K] [--json]`: the offline
 * answer to "given these nodes and these targets, who checks what, in priority order".
 * It uses the same owners() the agents use, so its answer is the live cluster's answer
 * for the same member set. Bad input is one line on stderr and exit 2, never a guess.
 */
import { parseFlags } from './args.ts'
import { EXIT_OK, EXIT_USAGE, UsageError } from './errors.ts'
import { renderTable } from './table.ts'
import { ConfigError, loadTargetsFile } from '../config/targets-file.ts'
import { OwnershipError } from '../ownership/errors.ts'
import { owners } from '../ownership/owners.ts'

const USAGE = `Usage: heck ownership --members a,b,c --targets FILE [--replicas K] [--json]

Computes, offline, which members check each target of FILE, in priority order:
the first owner checks it; if it is suspected or dead, the next one takes over.

  --members a,b,c  member (node) names, comma-separated, unique
  --targets FILE   targets file (YAML or JSON), as for 'heck agent --targets'
  --replicas K     owners to list per target (default 3)
  --json           print {"targets": [{"id": ID, "owners": [NAME, ...]}]}
`

export const DEFAULT_REPLICAS = 3

/** Where the command writes; tests pass their own to capture output. */
export interface CommandIo {
  out: (text: string) => void
  err: (text: string) => void
}

const processIo: CommandIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
}

export function parseMembers(s: string): string[] {
  const names = s.split(',').map((n) => n.trim())
  if (names.some((n) => n.length === 0)) {
    throw new UsageError(`--members: empty name in "${s}"; give comma-separated names like --members a,b,c`)
  }
  return names
}

export function parseReplicas(s: string | undefined): number {
  if (s === undefined) return DEFAULT_REPLICAS
  if (!/^\d+$/.test(s.trim()) || Number(s) < 1) throw new UsageError(`--replicas: expected an integer ≥ 1, got "${s}"`)
  return Number(s)
}

export async function ownershipCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  try {
    const { values, positionals } = parseFlags(
      'ownership',
      args,
      {
        members: { type: 'string' },
        targets: { type: 'string' },
        replicas: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    )
    if (values.help) {
      io.out(USAGE)
      return EXIT_OK
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (see 'heck ownership --help')`)
    if (values.members === undefined) throw new UsageError('--members is required, e.g. --members a,b,c')
    if (values.targets === undefined) throw new UsageError('--targets is required: the path of a YAML or JSON targets file')
    const members = parseMembers(values.members)
    const k = parseReplicas(values.replicas)
    // Validate members before reading the file, so the cheaper mistake is reported first.
    owners('-', members, k)
    const file = await loadTargetsFile(values.targets)
    const rows = file.targets.map((t) => ({ id: t.id, owners: owners(t.id, members, k) }))
    if (values.json) {
      io.out(`${JSON.stringify({ targets: rows }, null, 2)}\n`)
      return EXIT_OK
    }
    const width = Math.min(k, members.length)
    const header = ['TARGET', ...Array.from({ length: width }, (_, i) => `OWNER ${i + 1}`)]
    io.out(`${renderTable(header, rows.map((r) => [r.id, ...r.owners]))}\n`)
    const load = new Map(members.map((m) => [m, 0]))
    for (const r of rows) load.set(r.owners[0] as string, (load.get(r.owners[0] as string) ?? 0) + 1)
    const summary = [...load].map(([m, n]) => `${m} ${n}`).join(', ')
    io.out(`${rows.length} targets, ${members.length} members, ${k} replicas; first-owner load: ${summary}\n`)
    return EXIT_OK
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError || e instanceof OwnershipError) {
      io.err(`heck ownership: ${e.message}\n`)
      return EXIT_USAGE
    }
    throw e
  }
}
