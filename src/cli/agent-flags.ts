/**
 * `heck agent`'s settings: the flags, their help, and their validation into the
 * AgentConfig the assembly takes. A setting may come from the command line, a config
 * file (`--config`, `--config-dir`) or, for secrets, the environment and files of
 * their own (agent-settings.ts says which wins); every error names the source that
 * gave the bad value. Secrets given on the command line are accepted with a warning,
 * since every local user can read them in `ps` and /proc/PID/cmdline.
 */
import { hostname } from 'node:os'
import type { AgentConfig, EtcdStoreConfig } from '../agent/config.ts'
import { parseDuration } from '../config/duration.ts'
import { exactDuration } from '../config/target-form.ts'
import { REDACTED } from '../config/secrets.ts'
import { DEFAULT_MAX_EVENT_STREAMS } from '../api/sse.ts'
import { MAX_SUBSCRIBERS } from '../node/event-bus.ts'
import { isLevel, type Level } from '../seams/log.ts'
import { AgentSettings, configDirFiles, parseKeyring, readConfigFile, readSecretFile, SECRET_ENV, type FlagSpec } from './agent-settings.ts'
import { formatAddr, parseAddr, parseFlags } from './args.ts'
import { UsageError } from './errors.ts'

const isLoopbackHost = (h: string) => h === 'localhost' || h === '::1' || /^127\./.test(h)

export const AGENT_FLAGS = {
  config: { type: 'string' },
  'config-dir': { type: 'string' },
  'print-config': { type: 'boolean' },
  name: { type: 'string' },
  bind: { type: 'string' },
  'cluster-name': { type: 'string' },
  advertise: { type: 'string' },
  join: { type: 'string', multiple: true },
  'retry-join': { type: 'string', multiple: true },
  'join-timeout': { type: 'string' },
  'retry-interval': { type: 'string' },
  http: { type: 'string' },
  targets: { type: 'string' },
  'data-dir': { type: 'string' },
  profile: { type: 'string' },
  store: { type: 'string' },
  'lease-ttl': { type: 'string' },
  encrypt: { type: 'string', multiple: true },
  'encrypt-file': { type: 'string' },
  'api-token': { type: 'string' },
  'api-token-file': { type: 'string' },
  'api-read-token': { type: 'string' },
  'api-read-token-file': { type: 'string' },
  tui: { type: 'boolean' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'max-concurrent-checks': { type: 'string' },
  'max-event-streams': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

export const AGENT_HELP = `Usage: heck agent [flags]

  --config FILE            agent settings, YAML or JSON: every flag below as a setting, _ for - (data_dir: DIR)
  --config-dir DIR         more settings files (*.yaml, *.yml, *.json), read after --config in lexical order
  --print-config           print the settings in effect (secrets masked) as a config file, and exit
  --name NAME              unique node name (default: hostname, plus -PORT when the gossip port is not 7946)
  --bind HOST:PORT         gossip address, UDP + TCP (default 0.0.0.0:7946 with --encrypt, else 127.0.0.1:7946)
  --cluster-name NAME      label every gossip packet carries and every node checks (default: none)
  --advertise HOST:PORT    address peers use (default: the bind address)
  --join HOST:PORT         seed peer; repeatable
  --retry-join HOST:PORT   seed peer, retried every --retry-interval (default 5s)
  --join-timeout DUR       give up joining after this long (default 10s)
  --http HOST:PORT         HTTP API (default 127.0.0.1:8080)
  --targets FILE           targets file, YAML or JSON; reloaded on change and on SIGHUP
  --data-dir DIR           keep history and the last known state here (SQLite)
  --profile lan|local|wan  SWIM and gossip timing preset (default lan)
  --store gossip|etcd://HOST:PORT[,HOST:PORT...][/PREFIX]
                           where membership and state live: gossip (default) or an etcd cluster
  --lease-ttl DUR          etcd store: the member lease; a crashed node's targets move after it (default 5s)
  --encrypt KEY            base64 32-byte key (heck keygen); repeat to accept old keys while rotating
  --encrypt-file FILE      keyring file, one key per line, the first encrypts; reloaded on SIGHUP
  --api-token TOKEN        bearer token for write endpoints (without it, writes are loopback-only)
  --api-token-file FILE    the --api-token, read from a file
  --api-read-token TOKEN   bearer token every endpoint but /healthz then needs, /metrics too (the --api-token also works)
  --api-read-token-file FILE  the --api-read-token, read from a file
  --max-concurrent-checks N  checks in flight at once (default 1024)
  --max-event-streams N    open GET /v1/events streams; more get 503 + Retry-After (default 256)
  --tui                    show the terminal UI in this process
  --log-level LEVEL        debug, info, warn, error (default info)
  --log-format FORMAT      text or json (default text)

Secrets stay out of ps with HECK_ENCRYPT (keys, comma-separated), HECK_API_TOKEN and
HECK_API_READ_TOKEN, the *-file flags, or the config file. A flag beats the environment,
which beats the config files.
`

/** What the settings say: the agent's config plus what only the command itself uses. */
export interface AgentFlags {
  name: string
  http: { host: string; port: number }
  bind: { host: string; port: number }
  advertise?: { host: string; port: number }
  targetsPath?: string
  dataDir?: string
  logLevel: Level
  logFormat: 'text' | 'json'
  tui: boolean
  /** See ApiDeps.maxEventStreams. */
  maxEventStreams: number
  /** The keyring file (`--encrypt-file`), which SIGHUP reads again. */
  keyringFile?: string
  /** Things the operator should fix (a secret on the command line, a secret file others can read); logged once. */
  warnings: string[]
  /** `--print-config`: print `printable` and exit. */
  printConfig: boolean
  /** The settings in effect in config-file form, secrets masked. */
  printable: Record<string, unknown>
  agent: Omit<AgentConfig, 'httpAddr'>
}

/**
 * The settings from every source, highest precedence last: config files, then the
 * environment's secrets, then the command line.
 */
export function gatherSettings(args: string[], env: Record<string, string | undefined>): AgentSettings {
  const { values: argv } = parseFlags('agent', args, AGENT_FLAGS)
  const s = new AgentSettings()
  const flags = AGENT_FLAGS as Record<string, FlagSpec>
  if (argv.config !== undefined) readConfigFile(argv.config, flags, s)
  if (argv['config-dir'] !== undefined) for (const f of configDirFiles(argv['config-dir'])) readConfigFile(f, flags, s)
  for (const [name, flag] of Object.entries(SECRET_ENV)) {
    const v = env[name]
    if (v === undefined || v === '') continue
    s.set(flag, flag === 'encrypt' ? v.split(',').map((k) => k.trim()) : v, 'env', name)
  }
  for (const [flag, v] of Object.entries(argv)) if (v !== undefined) s.set(flag, v as string | boolean | string[], 'argv', `--${flag}`)
  return s
}

function durationSetting(s: AgentSettings, flag: string, dflt: number): number {
  const v = s.str(flag)
  if (v === undefined) return dflt
  const d = parseDuration(v)
  if (typeof d !== 'number') throw new UsageError(`${s.name(flag)}: ${d.error}`)
  return d
}

function intSetting(s: AgentSettings, flag: string, dflt: number, min: number, max: number): number {
  const raw = s.str(flag)
  if (raw === undefined) return dflt
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${s.name(flag)}: expected a whole number from ${min} to ${max}, got "${raw}"`)
  return n
}

/** A bearer token: visible ASCII without spaces (RFC 6750 sends it in a header), at most 4096 characters. */
function checkToken(where: string, v: string): string {
  if (v === '') throw new UsageError(`${where}: empty; give the token (e.g. the output of \`heck keygen\`)`)
  if (v.length > 4096) throw new UsageError(`${where}: ${v.length} characters; a token has at most 4096`)
  if (!/^[\x21-\x7e]+$/.test(v)) throw new UsageError(`${where}: must be printable ASCII without spaces (it is sent as "Authorization: Bearer TOKEN")`)
  return v
}

/**
 * A secret given directly or through a file of its own, never both. A direct value
 * on the command line earns a warning.
 */
function secret(s: AgentSettings, flag: string, warnings: string[]): { value?: string; fromFile?: string } {
  const fileFlag = `${flag}-file`
  const direct = flag === 'encrypt' ? s.list(flag) : s.str(flag)
  const path = s.str(fileFlag)
  if (direct !== undefined && path !== undefined) {
    throw new UsageError(`${s.name(flag)} and ${s.name(fileFlag)} both give the ${flag.replace('-', ' ')}; keep one`)
  }
  if (direct !== undefined && s.from(flag) === 'argv') {
    const env = Object.entries(SECRET_ENV).find(([, f]) => f === flag)?.[0]
    warnings.push(`--${flag} was given on the command line, where every local user can read it (ps, /proc/PID/cmdline); use ${env}, --${fileFlag} FILE or the config file`)
  }
  if (path === undefined) return { value: Array.isArray(direct) ? direct.join(',') : direct }
  const { text, warning } = readSecretFile(s.name(fileFlag), path)
  if (warning) warnings.push(warning)
  return { value: text, fromFile: path }
}

function gossipKeys(s: AgentSettings, warnings: string[]): { keys: string[]; keyringFile?: string } {
  const got = secret(s, 'encrypt', warnings)
  if (got.fromFile) return { keys: parseKeyring(s.name('encrypt-file'), got.fromFile, got.value ?? ''), keyringFile: got.fromFile }
  const keys = s.list('encrypt') ?? []
  for (const k of keys) {
    let raw: Buffer | undefined
    try {
      raw = Buffer.from(k, 'base64')
    } catch {}
    if (!raw || raw.length !== 32) throw new UsageError(`${s.name('encrypt')}: expected a base64 32-byte key; make one with \`heck keygen\``)
  }
  return { keys }
}

function token(s: AgentSettings, flag: string, warnings: string[]): string | undefined {
  const got = secret(s, flag, warnings)
  if (got.value === undefined) return undefined
  // A token file ends with a newline as every editor writes it.
  return got.fromFile ? checkToken(s.name(`${flag}-file`), got.value.replace(/\r?\n$/, '')) : checkToken(s.name(flag), got.value)
}

/** `--store`: `gossip`, or `etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`. */
export function storeSetting(where: string, raw: string | undefined, leaseTtlMs: number): EtcdStoreConfig | undefined {
  if (raw === undefined || raw === 'gossip') return undefined
  const fix = 'give gossip, or etcd://HOST:PORT[,HOST:PORT...][/PREFIX], e.g. etcd://10.0.0.1:2379,10.0.0.2:2379/heck'
  const m = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(raw)
  if (!m) throw new UsageError(`${where}: "${raw}" is not a store; ${fix}`)
  const endpoints = (m[1] as string).split(',')
  for (const e of endpoints) {
    const hp = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(e)
    if (!hp || Number(hp[1]) < 1 || Number(hp[1]) > 65535) throw new UsageError(`${where}: endpoint "${e}" is not HOST:PORT; ${fix}`)
  }
  let prefix = m[2] ?? '/heck/'
  if (!/^\/[A-Za-z0-9._\/-]*$/.test(prefix) || prefix.includes('//')) throw new UsageError(`${where}: prefix "${prefix}" may hold only A-Z a-z 0-9 . _ - and single slashes`)
  if (!prefix.endsWith('/')) prefix += '/'
  if (prefix === '/') throw new UsageError(`${where}: give a prefix other than "/" (e.g. /heck), so heck's keys stay apart from everything else in etcd`)
  return { kind: 'etcd', endpoints, prefix, leaseTtlMs }
}

export function parseAgentArgs(args: string[], env: Record<string, string | undefined> = process.env): AgentFlags | 'help' {
  const s = gatherSettings(args, env)
  if (s.bool('help')) return 'help'
  const warnings: string[] = []
  const logLevel = s.str('log-level') ?? 'info'
  if (!isLevel(logLevel)) throw new UsageError(`${s.name('log-level')}: expected debug, info, warn or error, got "${logLevel}"`)
  const logFormat = s.str('log-format') ?? 'text'
  if (logFormat !== 'text' && logFormat !== 'json') throw new UsageError(`${s.name('log-format')}: expected text or json, got "${logFormat}"`)
  const profile = s.str('profile') ?? 'lan'
  if (profile !== 'lan' && profile !== 'local' && profile !== 'wan') throw new UsageError(`${s.name('profile')}: expected lan, local or wan, got "${profile}"`)
  const maxChecks = intSetting(s, 'max-concurrent-checks', 1024, 1, 100_000)
  const { keys, keyringFile } = gossipKeys(s, warnings)
  // Unencrypted gossip answers anyone who reaches it, so without a key it stays on loopback
  // unless the operator binds it wider on purpose.
  const bind = parseAddr(s.name('bind'), s.str('bind') ?? (keys.length > 0 ? '0.0.0.0:7946' : '127.0.0.1:7946'), '0.0.0.0')
  const clusterName = s.str('cluster-name') ?? ''
  if (clusterName && !/^[A-Za-z0-9._-]{1,64}$/.test(clusterName)) throw new UsageError(`${s.name('cluster-name')}: 1-64 characters of A-Z a-z 0-9 . _ -, got "${clusterName}"`)
  const name = s.str('name') ?? (bind.port === 7946 ? hostname() : `${hostname()}-${bind.port}`)
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(name)) throw new UsageError(`${s.name('name')}: 1-128 characters of A-Z a-z 0-9 . _ -, got "${name}"`)
  const join = s.list('join') ?? []
  const retryJoin = s.list('retry-join') ?? []
  for (const [flag, seeds] of [['join', join], ['retry-join', retryJoin]] as const) {
    for (const j of seeds) {
      const seed = parseAddr(s.name(flag), j)
      if (isLoopbackHost(bind.host) && !isLoopbackHost(seed.host)) {
        throw new UsageError(
          `${s.name(flag)} ${j}: gossip is bound to ${formatAddr(bind.host, bind.port)}, which other hosts cannot reach; ` +
            `pass --bind 0.0.0.0:${bind.port} (or this host's address) and --encrypt KEY (heck keygen)`,
        )
      }
    }
  }
  const http = parseAddr(s.name('http'), s.str('http') ?? '127.0.0.1:8080')
  const apiToken = token(s, 'api-token', warnings)
  const apiReadToken = token(s, 'api-read-token', warnings)
  if (apiReadToken !== undefined && apiReadToken === apiToken) {
    const writeName = s.str('api-token-file') !== undefined ? s.name('api-token-file') : s.name('api-token')
    const readName = s.str('api-read-token-file') !== undefined ? s.name('api-read-token-file') : s.name('api-read-token')
    throw new UsageError(`${readName}: is the same as ${writeName}, so it would allow writes too; give readers a different token`)
  }
  const advertise = s.str('advertise') !== undefined ? parseAddr(s.name('advertise'), s.str('advertise') as string) : undefined
  const joinTimeoutMs = durationSetting(s, 'join-timeout', 10_000)
  const retryIntervalMs = durationSetting(s, 'retry-interval', 5_000)
  const maxEventStreams = intSetting(s, 'max-event-streams', DEFAULT_MAX_EVENT_STREAMS, 1, MAX_SUBSCRIBERS)
  const tui = s.bool('tui') ?? false
  const leaseTtlMs = durationSetting(s, 'lease-ttl', 5000)
  if (leaseTtlMs < 2000 || leaseTtlMs > 300_000) throw new UsageError(`${s.name('lease-ttl')}: from 2s to 5m, got "${s.str('lease-ttl')}"`)
  const store = storeSetting(s.name('store'), s.str('store'), leaseTtlMs)
  const mask = (v: string | undefined) => (v === undefined ? undefined : REDACTED)
  const printable: Record<string, unknown> = {
    name,
    bind: formatAddr(bind.host, bind.port),
    cluster_name: clusterName || undefined,
    advertise: advertise && formatAddr(advertise.host, advertise.port),
    join,
    retry_join: retryJoin,
    join_timeout: exactDuration(joinTimeoutMs),
    retry_interval: exactDuration(retryIntervalMs),
    http: formatAddr(http.host, http.port),
    targets: s.str('targets'),
    data_dir: s.str('data-dir'),
    profile,
    store: s.str('store') ?? 'gossip',
    ...(store ? { lease_ttl: exactDuration(leaseTtlMs) } : {}),
    ...(keyringFile ? { encrypt_file: keyringFile } : { encrypt: keys.map(() => REDACTED) }),
    ...(s.str('api-token-file') ? { api_token_file: s.str('api-token-file') } : { api_token: mask(apiToken) }),
    ...(s.str('api-read-token-file') ? { api_read_token_file: s.str('api-read-token-file') } : { api_read_token: mask(apiReadToken) }),
    tui,
    log_level: logLevel,
    log_format: logFormat,
    max_concurrent_checks: maxChecks,
    max_event_streams: maxEventStreams,
  }
  for (const k of Object.keys(printable)) if (printable[k] === undefined) delete printable[k]
  return {
    name,
    http,
    bind,
    advertise,
    targetsPath: s.str('targets'),
    dataDir: s.str('data-dir'),
    logLevel,
    logFormat,
    tui,
    maxEventStreams,
    keyringFile,
    warnings,
    printConfig: s.bool('print-config') ?? false,
    printable,
    agent: { name, profile, keys, clusterName, join, retryJoin, joinTimeoutMs, retryIntervalMs, apiToken, apiReadToken, maxConcurrentChecks: maxChecks, ...(store ? { store } : {}) },
  }
}
