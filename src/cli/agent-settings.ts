/**
 * Where `heck agent`'s settings come from, and which source won: the command line,
 * the environment (secrets only), and a config file or directory, as Serf's and
 * Consul's `-config-file` / `-config-dir` work. Every flag is also a config setting
 * under the same name with `_` for `-` (`--data-dir` is `data_dir`).
 *
 * Precedence, highest first: a flag on the command line, then the environment
 * (HECK_ENCRYPT, HECK_API_TOKEN, HECK_API_READ_TOKEN), then the config files: `--config
 * FILE` first, then `--config-dir DIR`'s `*.yaml`, `*.yml` and `*.json` in lexical
 * order, a later file replacing an earlier one's setting (lists are replaced, not
 * appended). A relative path in a config file (targets, data_dir, the *_file secrets)
 * is taken from that file's directory, as Prometheus does for its rule files. Each value remembers its origin, so an error names the file and the
 * setting (or the flag, or the variable) to fix, and the agent can warn about a secret
 * that every local user could read from `ps`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { UsageError } from './errors.ts'

export type FlagValue = string | boolean | string[]

/** The shape of one flag, as node:util parseArgs takes it. */
export interface FlagSpec {
  type: 'string' | 'boolean'
  multiple?: boolean
}

/** Flags that only make sense on the command line. */
const COMMAND_LINE_ONLY = new Set(['config', 'config-dir', 'print-config', 'help'])

/** Settings that name a file or directory: relative ones are taken from the config file's directory. */
const PATH_SETTINGS = new Set(['targets', 'data-dir', 'encrypt-file', 'api-token-file', 'api-read-token-file'])

/** Environment variables that may carry a secret, and the flag each stands for. */
export const SECRET_ENV: Record<string, string> = {
  HECK_ENCRYPT: 'encrypt',
  HECK_API_TOKEN: 'api-token',
  HECK_API_READ_TOKEN: 'api-read-token',
}

/** Merged settings: each flag's value and where it came from. */
export class AgentSettings {
  readonly values: Record<string, FlagValue> = {}
  /** flag → its origin, as an error message names it: `--data-dir`, `agent.yaml: data_dir`, `HECK_API_TOKEN`. */
  private readonly origins: Record<string, string> = {}
  /** flag → 'argv' | 'env' | 'file'. */
  private readonly kinds: Record<string, 'argv' | 'env' | 'file'> = {}

  set(flag: string, value: FlagValue, kind: 'argv' | 'env' | 'file', origin: string): void {
    this.values[flag] = value
    this.kinds[flag] = kind
    this.origins[flag] = origin
  }

  /** How an error about this flag names it: the flag itself unless a file or variable gave it. */
  name(flag: string): string {
    return this.origins[flag] ?? `--${flag}`
  }

  from(flag: string): 'argv' | 'env' | 'file' | undefined {
    return this.kinds[flag]
  }

  str(flag: string): string | undefined {
    const v = this.values[flag]
    return typeof v === 'string' ? v : undefined
  }

  list(flag: string): string[] | undefined {
    const v = this.values[flag]
    return Array.isArray(v) ? v : undefined
  }

  bool(flag: string): boolean | undefined {
    const v = this.values[flag]
    return typeof v === 'boolean' ? v : undefined
  }
}

const toSetting = (flag: string) => flag.replaceAll('-', '_')

function decode(path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UsageError(`${path}: no such file (give --config the path of a YAML or JSON agent config)`)
    throw new UsageError(`${path}: cannot read it: ${e instanceof Error ? e.message : String(e)}`)
  }
  const json = path.endsWith('.json') || /^\s*[{[]/.test(text)
  try {
    return json ? JSON.parse(text) : Bun.YAML.parse(text)
  } catch (e) {
    throw new UsageError(`${path}: not valid ${json ? 'JSON' : 'YAML'}: ${e instanceof Error ? e.message : String(e)}`)
  }
}

/** One config file's settings into `into`, each checked against the flag it stands for. */
export function readConfigFile(path: string, flags: Record<string, FlagSpec>, into: AgentSettings): void {
  const doc = decode(path)
  if (doc === null || doc === undefined) return // an empty file sets nothing
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UsageError(`${path}: must be a map of settings, e.g. "data_dir: /var/lib/heck" (see heck agent --help for the names)`)
  }
  const known = Object.keys(flags).filter((f) => !COMMAND_LINE_ONLY.has(f)).map(toSetting)
  for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
    const where = `${path}: ${key}`
    const flag = key.replaceAll('_', '-')
    const spec = flags[flag]
    if (key.includes('-') && spec) throw new UsageError(`${where}: write it as "${toSetting(key)}" (settings use _ where flags use -)`)
    if (!spec || COMMAND_LINE_ONLY.has(flag)) {
      const why = COMMAND_LINE_ONLY.has(flag) ? 'is a command-line flag only' : 'is not a setting'
      throw new UsageError(`${where}: ${why} (settings: ${known.join(', ')})`)
    }
    if (raw === null || raw === undefined) continue // "key:" with nothing after it leaves the default
    const value = settingValue(where, spec, raw)
    into.set(flag, PATH_SETTINGS.has(flag) && typeof value === 'string' ? resolve(dirname(path), value) : value, 'file', where)
  }
}

function settingValue(where: string, spec: FlagSpec, raw: unknown): FlagValue {
  const scalar = (v: unknown): string => {
    if (typeof v === 'string') return v
    if (typeof v === 'number' && Number.isFinite(v)) return String(v)
    throw new UsageError(`${where}: expected a string${spec.multiple ? ' or a list of strings' : ''}, got ${JSON.stringify(v)}`)
  }
  if (spec.type === 'boolean') {
    if (typeof raw !== 'boolean') throw new UsageError(`${where}: expected true or false, got ${JSON.stringify(raw)}`)
    return raw
  }
  if (spec.multiple) return Array.isArray(raw) ? raw.map(scalar) : [scalar(raw)]
  if (Array.isArray(raw)) throw new UsageError(`${where}: takes one value, got a list`)
  return scalar(raw)
}

/** `--config-dir DIR`: its YAML and JSON files in lexical order; other files are ignored. */
export function configDirFiles(dir: string): string[] {
  let names: string[]
  try {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--config-dir ${dir}: not a directory`)
    names = readdirSync(dir)
  } catch (e) {
    if (e instanceof UsageError) throw e
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UsageError(`--config-dir ${dir}: no such directory`)
    throw new UsageError(`--config-dir ${dir}: cannot read it: ${e instanceof Error ? e.message : String(e)}`)
  }
  return names.filter((n) => /\.(ya?ml|json)$/.test(n) && !n.startsWith('.')).sort().map((n) => join(dir, n))
}

/**
 * A secret read from a file (`--api-token-file`, `--encrypt-file`): the file's text,
 * and a warning when users other than the owner may read it.
 */
export function readSecretFile(name: string, path: string): { text: string; warning?: string } {
  let text: string
  let mode: number
  try {
    text = readFileSync(path, 'utf8')
    mode = statSync(path).mode
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UsageError(`${name} ${path}: no such file`)
    throw new UsageError(`${name} ${path}: cannot read it: ${e instanceof Error ? e.message : String(e)}`)
  }
  const warning = mode & 0o007 ? `${path} (${name}) can be read by every user on this host; chmod o-rwx ${path}` : undefined
  return { text, warning }
}

/**
 * A keyring file: one base64 key per line, the first the primary (it encrypts, all
 * decrypt); blank lines and `#` comments are ignored. Rotation edits it and sends
 * SIGHUP: add the new key second, then move it first, then remove the old one.
 */
export function parseKeyring(name: string, path: string, text: string): string[] {
  const keys: string[] = []
  text.split('\n').forEach((line, i) => {
    const k = line.replace(/#.*$/, '').trim()
    if (!k) return
    let raw: Buffer | undefined
    try {
      raw = Buffer.from(k, 'base64')
    } catch {}
    if (!raw || raw.length !== 32) throw new UsageError(`${name} ${path}: line ${i + 1}: expected a base64 32-byte key; make one with \`heck keygen\``)
    keys.push(k)
  })
  if (keys.length === 0) throw new UsageError(`${name} ${path}: no keys in it; put one base64 key per line (make one with \`heck keygen\`)`)
  return keys
}
